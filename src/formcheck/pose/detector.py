"""The MediaPipe Pose Landmarker adapter: a landmarker from the settings, and frames through it.

Used by the whole-clip run (landmarker.py) and by each chunk's process (parallel.py); the only
module of the pose stage that talks to MediaPipe's Tasks API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions
from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

from formcheck.config import PoseSettings
from formcheck.pose.appearance import describe
from formcheck.pose.masking import MaskPlan, covered_by, grow, paint_over
from formcheck.pose.models import resolve_model
from formcheck.pose.quiet import QuietLandmarker
from formcheck.pose.tracking import SAME_FRAME_S, Detection, Detections
from formcheck.sources import Frame

ProgressFn = Callable[[int], None]


def create_landmarker(settings: PoseSettings, mode: RunningMode = RunningMode.VIDEO) -> QuietLandmarker:
    """A landmarker whose native start-up log stays off the terminal (pose/quiet.py)."""
    options = PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(resolve_model(settings.model))),
        running_mode=mode,
        num_poses=settings.num_poses,
        min_pose_detection_confidence=settings.min_detection_confidence,
        min_pose_presence_confidence=settings.min_presence_confidence,
        min_tracking_confidence=settings.min_tracking_confidence,
    )
    return QuietLandmarker(lambda: PoseLandmarker.create_from_options(options))


@contextmanager
def open_scanner(settings: PoseSettings | None) -> Iterator[QuietLandmarker | None]:
    """An IMAGE-mode landmarker for the sparse people scan (None without settings): IMAGE
    mode runs person detection on every call, so it finds whoever is in the frame."""
    if settings is None:
        yield None
        return
    with create_landmarker(settings, RunningMode.IMAGE) as scanner:
        yield scanner


def detections_from_result(result, width: int, height: int, image: np.ndarray | None = None) -> list[Detection]:
    """Convert a PoseLandmarkerResult to pixel-space detections of the upright frame, each
    with its clothing colours read from `image` (the decoded RGB frame) when given."""
    out = []
    for image_lms, world_lms in zip(result.pose_landmarks, result.pose_world_landmarks):
        img = np.array([(p.x, p.y, p.z, p.visibility or 0.0, p.presence or 0.0) for p in image_lms])
        world = np.array([(p.x, p.y, p.z) for p in world_lms])
        out.append(
            Detection(
                image_xy=img[:, :2] * (width, height),
                image_z=img[:, 2] * width,
                world_xyz=world,
                visibility=img[:, 3],
                presence=img[:, 4],
            )
        )
    if image is not None:
        scale = image.shape[1] / width
        for det in out:
            det.appearance = describe(image, det.image_xy, det.visibility, scale)
    return out


def detect_frames(
    landmarker: PoseLandmarker,
    frames: Iterable[Frame],
    width: int,
    height: int,
    progress: ProgressFn | None = None,
    *,
    scanner: PoseLandmarker | None = None,
    scan_interval_s: float = 0.0,
    scan_from_s: float = 0.0,
    scan_until_s: float = float("inf"),
    mask: MaskPlan | None = None,
) -> tuple[Detections, Detections, np.ndarray]:
    """Run the landmarker in VIDEO mode; timestamps in ms from the container's clock.

    Frames that come without an image (decoded, not sampled: sources.iter_frames) are not
    measured; the third value returned holds the time of every decoded frame.

    With a `scanner` (an IMAGE-mode landmarker), every `scan_interval_s` within
    [scan_from_s, scan_until_s) the same decoded frame is scanned for people the tracker
    missed: the people it tracks there are painted over and the scanner looks again, up to
    HIDDEN_ROUNDS times (pose/masking.py says why). The second pair returned is that sparse
    scan, each frame holding the tracked people and those found behind them (empty without
    a scanner). With a `mask`, its people are painted over before the tracker sees a frame.
    """
    times: list[float] = []
    decoded: list[float] = []
    per_frame: list[list[Detection]] = []
    scan_times: list[float] = []
    scan: list[list[Detection]] = []
    last_ms = -1
    next_scan = scan_from_s
    for frame in frames:
        decoded.append(frame.time_s)
        if frame.image is None:
            if progress:
                progress(1)
            continue
        ms = max(int(round(frame.time_s * 1000)), last_ms + 1)
        last_ms = ms
        scale = frame.image.shape[1] / width
        pixels = mask.apply(frame.image, frame.time_s, scale) if mask is not None else frame.image
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(pixels))
        times.append(frame.time_s)
        tracked = detections_from_result(landmarker.detect_for_video(image, ms), width, height, frame.image)
        per_frame.append(tracked)
        if scanner is not None and next_scan - SAME_FRAME_S <= frame.time_s < scan_until_s:
            scan_times.append(frame.time_s)
            scan.append(_look_behind(scanner, frame.image, tracked, width, height))
            next_scan = frame.time_s + scan_interval_s
        if progress:
            progress(1)
    return (Detections(np.asarray(times, float), per_frame), Detections(np.asarray(scan_times, float), scan),
            np.asarray(decoded, float))


# Rounds of painting over the people found and looking again: a second person behind the
# first, then a third; more is a crowd, not a form check.
HIDDEN_ROUNDS = 2
# Share of a newly found person's box that may lie on the paint (someone partly behind another
# shows most of their body beside the painted box).
HIDDEN_MAX_COVER = 0.5


def _look_behind(scanner: PoseLandmarker, image: np.ndarray, found: list[Detection], width: int,
                 height: int) -> list[Detection]:
    """`found` plus anyone the scanner sees once they are painted over."""
    scale = image.shape[1] / width
    people = list(found)
    for _ in range(HIDDEN_ROUNDS):
        pixels = paint_over(image, [d.box for d in people], scale=scale) if people else image
        seen = detections_from_result(scanner.detect(mp.Image(image_format=mp.ImageFormat.SRGB,
                                                              data=np.ascontiguousarray(pixels))), width, height, image)
        # a "person" found mostly on the paint is a limb of someone painted over (an arm or a
        # foot beyond their box) or a shape in the paint: only someone mostly outside it counts
        new = [d for d in seen if all(covered_by(d.box, grow(p.box)) < HIDDEN_MAX_COVER for p in people)]
        if not new:
            break
        people += new
    return people
