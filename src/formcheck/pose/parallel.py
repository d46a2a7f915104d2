"""Run the chunks of one clip (pose/chunks.py) in parallel processes, one landmarker each.

Each process decodes its own chunk from the file (decode read ahead in a thread, overlapped
with inference), keeps its frames for the annotated video when asked (spool.py) and sends
back only the packed landmarks (formcheck/processes.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from formcheck.config import PoseSettings, pose_sample_step
from formcheck.pose.chunks import Chunk, pack_detections
from formcheck.pose.detector import create_landmarker, detect_frames, open_scanner
from formcheck.pose.masking import MaskPlan
from formcheck.processes import run_parallel, worker_count
from formcheck.sources import Frame, VideoInfo, iter_frames, on_sample_grid, read_ahead
from formcheck.spool import FrameSpool, SpoolPart


def pose_workers(settings: PoseSettings) -> int:
    return worker_count(settings.workers)


def pose_frames(
    info: VideoInfo,
    settings: PoseSettings,
    start_s: float = 0.0,
    end_s: float | None = None,
    spool: SpoolPart | None = None,
    core: tuple[float, float] = (0.0, float("inf")),
) -> Iterator[Frame]:
    """The frames the pose stage reads, decoded ahead in a thread: those the model measures
    (pose_rate_hz) with their image, the others without; with a `spool`, every frame of the
    `core` span is also kept for the annotated video (spool.py), so it is converted too."""
    step = pose_sample_step(settings.pose_rate_hz, info.fps)
    frames = iter_frames(info, max_long_side=settings.inference_long_side, start_s=start_s, end_s=end_s,
                         sample_step=1 if spool else step)
    if spool is not None:
        frames = _spooled(frames, spool, core, step, info.fps)
    return read_ahead(frames)


def _spooled(frames: Iterator[Frame], spool: SpoolPart, core: tuple[float, float], step: int,
             fps: float) -> Iterator[Frame]:
    with spool:
        for frame in frames:
            if frame.image is not None and core[0] <= frame.time_s < core[1]:
                spool.add(frame.time_s, frame.image)
            yield frame if on_sample_grid(frame.time_s, fps, step) else Frame(frame.index, frame.time_s, None)


def _detect_chunk(
    info: VideoInfo,
    settings: PoseSettings,
    chunk: Chunk,
    scan_settings: PoseSettings | None,
    scan_interval_s: float,
    mask: MaskPlan | None,
    spool: FrameSpool | None,
    report: Callable[[int], None],
) -> dict:
    """Worker process body: packed detections of one chunk (the track, and the people scan
    over the chunk's core only, so neighbouring chunks' scans do not overlap); progress
    counts its core only."""

    core_end = chunk.core_end_s if chunk.core_end_s is not None else float("inf")

    def counted(frames):
        for frame in frames:
            if chunk.core_start_s <= frame.time_s < core_end:
                report(1)
            yield frame

    frames = pose_frames(info, settings, chunk.start_s, chunk.end_s, spool.part(chunk.index) if spool else None,
                         (chunk.core_start_s, core_end))
    with create_landmarker(settings) as landmarker, open_scanner(scan_settings) as scanner:
        track, scan, decoded = detect_frames(
            landmarker, counted(frames), info.width, info.height,
            scanner=scanner, scan_interval_s=scan_interval_s,
            scan_from_s=chunk.core_start_s, scan_until_s=core_end, mask=mask,
        )  # fmt: skip
    core = (chunk.core_start_s <= decoded) & (decoded < core_end)  # as counted(): the cores tile the clip
    return {"track": pack_detections(track.times, track.per_frame), "scan": pack_detections(scan.times, scan.per_frame),
            "decoded": decoded[core]}


def detect_chunks(
    info: VideoInfo,
    settings: PoseSettings,
    chunks: list[Chunk],
    progress: Callable[[int], None] | None = None,
    scan_settings: PoseSettings | None = None,
    scan_interval_s: float = 0.0,
    mask: MaskPlan | None = None,
    spool: FrameSpool | None = None,
) -> list[dict]:
    """Per chunk, in chunk order: {"track": packed detections, "scan": packed people scan}
    (see chunks.pack_detections)."""
    return run_parallel(_detect_chunk, [(info, settings, chunk, scan_settings, scan_interval_s, mask, spool)
                                        for chunk in chunks], progress)
