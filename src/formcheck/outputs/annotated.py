"""The annotated video: a second decoding pass that draws the cleaned skeleton and the angles.

Decoding, drawing and H.264 encoding cost about as much per frame as the pose model, so on
a multi-core machine the clip is written as time segments, one process each, and the
segments are joined by copying their packets (no re-encoding) into one faststart MP4. Every
frame keeps its source timestamp, so the joined file is the same frames at the same times
as a single-process run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from formcheck.outputs.annotate import draw_header, draw_joint_angles, draw_legend, draw_skeleton
from formcheck.outputs.video import VideoSink
from formcheck.pose.chunks import plan_chunks
from formcheck.processes import run_parallel
from formcheck.series import AngleSeries, PoseSeries
from formcheck.sources import VideoInfo, iter_frames, read_ahead

ANNOTATED_LONG_SIDE = 1280  # browser playback; larger adds bytes, not information


def _write_span(
    info: VideoInfo,
    pose: PoseSeries,
    angles: AngleSeries,
    path: Path,
    start_s: float,
    end_s: float | None,
    progress: Callable[[int], None] | None,
) -> float | None:
    """Write the frames of [start_s, end_s); return the first frame's time (None: no frame)."""
    scale = min(1.0, ANNOTATED_LONG_SIDE / info.long_side)
    first_s = None
    times = pose.time_s
    with VideoSink(path, int(info.width * scale), int(info.height * scale), info.fps) as sink:
        frames = iter_frames(
            info, pixel_format="bgr24", max_long_side=ANNOTATED_LONG_SIDE, start_s=start_s, end_s=end_s
        )
        for frame in read_ahead(frames):  # decode the next frames while this one is drawn and encoded
            # Match by time, not index: robust to a frame skipped in one of the two passes.
            i = int(np.clip(np.searchsorted(times, frame.time_s - 1e-4), 0, len(times) - 1))
            image = frame.image
            h, w = image.shape[:2]
            xy = pose.image_xy[i] * (w / info.width, h / info.height)
            visible = ~np.isnan(xy[:, 0])
            draw_skeleton(image, xy, visible)
            draw_joint_angles(image, xy, {name: float(values[i]) for name, values in angles.angles.items()})
            draw_legend(image)
            draw_header(image, [f"t = {frame.time_s:5.2f} s"])
            sink.write(image, frame.time_s)
            first_s = frame.time_s if first_s is None else first_s
            if progress:
                progress(1)
    return first_s


def _write_segment(
    info: VideoInfo,
    pose: PoseSeries,
    angles: AngleSeries,
    path: Path,
    start_s: float,
    end_s: float | None,
    report: Callable[[int], None],
) -> float | None:
    """Worker process body (module level: pickled by name)."""
    return _write_span(info, pose, angles, path, start_s, end_s, report)


def _first_pts(path: Path) -> int | None:
    with av.open(str(path)) as source:
        return min((p.pts for p in source.demux(source.streams.video[0]) if p.pts is not None), default=None)


def concat_segments(segments: list[Path], first_times_s: list[float | None], path: Path) -> None:
    """Join MP4 segments of one encoder configuration by copying packets, in order.

    Each segment carries its source timestamps, except that MP4 stores a late start (edit
    list) in milliseconds: each segment is shifted back so its first frame shows at
    `first_times_s` exactly, as in a single-pass file. A decode timestamp that does not
    increase (segments out of order or overlapping) is an error, not a broken file.
    """
    with av.open(str(segments[0])) as first:
        template = first.streams.video[0]
        with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = out.add_stream_from_template(template)
            stream.time_base = template.time_base
            last_dts = None
            for segment, first_s in zip(segments, first_times_s):
                if first_s is None:
                    continue  # no frame fell in this span
                first_pts = _first_pts(segment)
                with av.open(str(segment)) as source:
                    video = source.streams.video[0]
                    shift = round(first_s / video.time_base) - first_pts
                    for packet in source.demux(video):
                        if packet.size == 0 or packet.dts is None:
                            continue  # the demuxer's end-of-stream marker
                        packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                        if last_dts is not None and packet.dts <= last_dts:
                            raise ValueError(
                                f"segment {segment.name} does not follow on: decode time {packet.dts} "
                                f"after {last_dts} ({packet.time_base} s units)"
                            )
                        last_dts = packet.dts
                        packet.stream = stream
                        out.mux(packet)


def write_annotated_video(
    info: VideoInfo,
    pose: PoseSeries,
    angles: AngleSeries,
    path: Path,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int = 1,
    min_segment_s: float = 4.0,
) -> None:
    """Draw the cleaned skeleton and the angles on every frame of the clip into `path`."""
    spans = plan_chunks(max(info.duration_s, 1e-3), workers, min_segment_s, overlap_s=0.0)
    if len(spans) == 1:
        _write_span(info, pose, angles, path, 0.0, None, progress)
        return
    segments = [path.with_name(f".{path.stem}.part{span.index}{path.suffix}") for span in spans]
    try:
        first_times_s = run_parallel(
            _write_segment,
            [(info, pose, angles, seg, span.start_s, span.end_s) for seg, span in zip(segments, spans)],
            progress,
        )
        concat_segments(segments, first_times_s, path)
    finally:
        for segment in segments:
            segment.unlink(missing_ok=True)
