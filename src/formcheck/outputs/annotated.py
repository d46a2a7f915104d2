"""The annotated video: the cleaned skeleton and the angles drawn on every frame of the clip.

The frames are those the pose stage kept (spool.py), or a second decoding pass when the clip
was too long to keep. One process: the read-ahead thread and x264's own threads
already keep about 1.6 of 2 cores busy here, and writing time segments in parallel
processes (tried; bench/throughput.py) cost a third more CPU for no gain in wall time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from formcheck.outputs.annotate import (
    VIDEO_ANGLE_LABELS,
    draw_header,
    draw_joint_angles,
    draw_legend,
    draw_skeleton,
)
from formcheck.outputs.video import VideoSink
from formcheck.series import AngleSeries, PoseSeries
from formcheck.sources import VideoInfo, iter_frames, read_ahead
from formcheck.spool import FrameSpool

ANNOTATED_LONG_SIDE = 1280  # browser playback; larger adds bytes, not information


def write_annotated_video(
    info: VideoInfo,
    pose: PoseSeries,
    angles: AngleSeries,
    path: Path,
    progress: Callable[[int], None] | None = None,
    spool: FrameSpool | None = None,
) -> None:
    """Draw the cleaned skeleton and the angles on every frame of the clip into `path`.

    The frames come from `spool` when the pose stage kept them there (spool.py), else the
    clip is decoded again.

    `angles` is what the clip supports (kinematics.support): its withheld columns are not
    written, and a 3D estimate standing in for a withheld 2D angle is marked "3D".
    """
    scale = min(1.0, ANNOTATED_LONG_SIDE / info.long_side)
    times = pose.time_s
    withheld = set(angles.withheld)
    estimates = {n.removesuffix("_deg") + "_3d_deg" for n in withheld} & set(angles.angles) - withheld
    source = "angles: 2D from the image" + (", 3D = depth estimate" if estimates else "")
    if spool is not None and spool.frame_count() < len(pose.all_frame_times):
        spool = None  # the pose stage did not keep every frame (it ran elsewhere, or in part): decode again
    size = (spool.width, spool.height) if spool else (int(info.width * scale), int(info.height * scale))
    with VideoSink(path, *size, info.fps) as sink:
        frames = spool.frames() if spool else iter_frames(info, pixel_format="bgr24", max_long_side=ANNOTATED_LONG_SIDE)
        for frame in read_ahead(frames):  # read the next frames while this one is drawn and encoded
            # Match by time, not index: robust to a frame skipped in one of the two passes.
            i = int(np.clip(np.searchsorted(times, frame.time_s - 1e-4), 0, len(times) - 1))
            image = frame.image
            assert image is not None  # every frame is sampled here (no sampling stride)
            h, w = image.shape[:2]
            xy = pose.image_xy[i] * (w / info.width, h / info.height)
            visible = ~np.isnan(xy[:, 0])
            draw_skeleton(image, xy, visible)
            draw_joint_angles(image, xy, {name: float(values[i]) for name, values in angles.angles.items()},
                              labels=VIDEO_ANGLE_LABELS, withheld=withheld)
            draw_legend(image)
            draw_header(image, [f"t = {frame.time_s:5.2f} s", source])
            sink.write(image, frame.time_s)
            if progress:
                progress(1)
