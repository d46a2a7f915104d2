"""Run the chunks of one clip (pose/chunks.py) in parallel processes, one landmarker each.

Each process decodes its own chunk from the file (decode read ahead in a thread, overlapped
with inference) and sends back only the packed landmarks (formcheck/processes.py).
"""

from __future__ import annotations

from collections.abc import Callable

from formcheck.config import PoseSettings
from formcheck.pose.chunks import Chunk, pack_detections
from formcheck.pose.masking import MaskPlan
from formcheck.processes import run_parallel, worker_count
from formcheck.sources import VideoInfo, iter_frames, read_ahead


def pose_workers(settings: PoseSettings) -> int:
    return worker_count(settings.workers)


def _detect_chunk(
    info: VideoInfo,
    settings: PoseSettings,
    chunk: Chunk,
    scan_settings: PoseSettings | None,
    scan_interval_s: float,
    mask: MaskPlan | None,
    report: Callable[[int], None],
) -> dict:
    """Worker process body: packed detections of one chunk (the track, and the people scan
    over the chunk's core only, so neighbouring chunks' scans do not overlap); progress
    counts its core only."""
    from formcheck.pose.landmarker import create_landmarker, detect_frames, open_scanner  # imports mediapipe

    core_end = chunk.core_end_s if chunk.core_end_s is not None else float("inf")

    def counted(frames):
        for frame in frames:
            if chunk.core_start_s <= frame.time_s < core_end:
                report(1)
            yield frame

    frames = iter_frames(info, max_long_side=settings.inference_long_side, start_s=chunk.start_s, end_s=chunk.end_s)
    with create_landmarker(settings) as landmarker, open_scanner(scan_settings) as scanner:
        track, scan = detect_frames(
            landmarker, counted(read_ahead(frames)), info.width, info.height,
            scanner=scanner, scan_interval_s=scan_interval_s,
            scan_from_s=chunk.core_start_s, scan_until_s=core_end, mask=mask,
        )  # fmt: skip
    return {"track": pack_detections(track.times, track.per_frame), "scan": pack_detections(scan.times, scan.per_frame)}


def detect_chunks(
    info: VideoInfo,
    settings: PoseSettings,
    chunks: list[Chunk],
    progress: Callable[[int], None] | None = None,
    scan_settings: PoseSettings | None = None,
    scan_interval_s: float = 0.0,
    mask: MaskPlan | None = None,
) -> list[dict]:
    """Per chunk, in chunk order: {"track": packed detections, "scan": packed people scan}
    (see chunks.pack_detections)."""
    return run_parallel(_detect_chunk, [(info, settings, chunk, scan_settings, scan_interval_s, mask) for chunk in chunks], progress)
