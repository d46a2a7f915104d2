"""MediaPipe Pose Landmarker (Tasks API) over a video: frames in, one subject's PoseSeries out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions
from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

from formcheck.config import PoseSettings
from formcheck.landmarks import NUM_LANDMARKS
from formcheck.pose.appearance import describe
from formcheck.pose.masking import MaskPlan, covered_by, grow, interpolate_boxes, paint_over
from formcheck.pose.chunks import join_chunks, plan_chunks, unpack_detections
from formcheck.pose.models import resolve_model
from formcheck.pose.parallel import detect_chunks, pose_workers
from formcheck.pose.quiet import QuietLandmarker
from formcheck.pose.tracking import (
    SAME_FRAME_S,
    SAME_PERSON_IOU,
    Detection,
    Detections,
    SubjectHint,
    check_tracked_subject,
    choose_subject,
    iou,
    shared_frames,
)
from formcheck.series import PoseSeries, SubjectChoice
from formcheck.sources import Frame, VideoInfo, iter_frames, read_ahead

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
) -> tuple[Detections, Detections]:
    """Run the landmarker in VIDEO mode; timestamps in ms from the container's clock.

    With a `scanner` (an IMAGE-mode landmarker), every `scan_interval_s` within
    [scan_from_s, scan_until_s) the same decoded frame is scanned for people the tracker
    missed: the people it tracks there are painted over and the scanner looks again, up to
    HIDDEN_ROUNDS times (pose/masking.py says why). The second pair returned is that sparse
    scan, each frame holding the tracked people and those found behind them (empty without
    a scanner). With a `mask`, its people are painted over before the tracker sees a frame.
    """
    times: list[float] = []
    per_frame: list[list[Detection]] = []
    scan_times: list[float] = []
    scan: list[list[Detection]] = []
    last_ms = -1
    next_scan = scan_from_s
    for frame in frames:
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
    return Detections(np.asarray(times, float), per_frame), Detections(np.asarray(scan_times, float), scan)


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


def series_from_detections(
    times: np.ndarray, per_frame: list[list[Detection]], width: int, height: int, hint: SubjectHint | None = None
) -> PoseSeries:
    """Pick the main subject and pack its landmarks into a PoseSeries (NaN where absent)."""
    chosen, subject = choose_subject(times, per_frame, width, height, hint)
    return _series(times, chosen, subject, width, height)


def _series(
    times: np.ndarray, chosen: list[Detection | None], subject: SubjectChoice, width: int, height: int
) -> PoseSeries:
    series = PoseSeries.empty(np.asarray(times, float), width, height)
    series.subject = subject
    for i, det in enumerate(chosen):
        if det is None:
            continue
        series.image_xy[i] = det.image_xy
        series.image_z[i] = det.image_z
        series.world_xyz[i] = det.world_xyz
        series.visibility[i] = det.visibility
        series.presence[i] = det.presence
    return series


def _detect(
    info: VideoInfo,
    settings: PoseSettings,
    start_s: float,
    end_s: float | None,
    progress: ProgressFn | None,
    scan_settings: PoseSettings | None = None,
    scan_interval_s: float = 0.0,
    mask: MaskPlan | None = None,
) -> tuple[Detections, Detections]:
    """Every frame through one tracker (and the sparse scan, when asked), on as many
    processes as the clip's length allows when it is the whole clip."""
    span = (end_s if end_s is not None else info.duration_s) - start_s
    chunks = plan_chunks(max(span, 1e-3), pose_workers(settings), settings.min_chunk_s, settings.chunk_overlap_s)
    if len(chunks) > 1 and start_s == 0.0 and end_s is None:
        results = detect_chunks(info, settings, chunks, progress, scan_settings, scan_interval_s, mask)
        track = Detections(*join_chunks([unpack_detections(r["track"]) for r in results], info.width, info.height))
        scan = Detections.concat([Detections(*unpack_detections(r["scan"])) for r in results])
        return track, scan
    frames = iter_frames(info, max_long_side=settings.inference_long_side, start_s=start_s, end_s=end_s)
    with create_landmarker(settings) as landmarker, open_scanner(scan_settings) as scanner:
        return detect_frames(
            landmarker, read_ahead(frames), info.width, info.height, progress,
            scanner=scanner, scan_interval_s=scan_interval_s, mask=mask,
        )  # fmt: skip


def _hidden_subject_plan(track: Detections, scan: Detections, hint: SubjectHint | None, width: int,
                         height: int) -> MaskPlan | None:
    """When the subject chosen on the people scan is someone the tracker never followed
    (hidden behind a dominant person), a plan that paints over the people it followed and
    keeps the subject's box; None when the tracker was on the subject."""
    if not any(len(s) > len(t) for s, t in zip(scan.per_frame, _at(track, scan.times))):
        return None  # the scan found nobody the tracker missed
    chosen, _ = choose_subject(scan.times, scan.per_frame, width, height, hint)
    seen = [(k, det) for k, det in enumerate(chosen) if det is not None]
    # the tracker followed the scan's subject where one of its detections is the same body
    # (the scan and the track come back from the chunk processes as separate copies)
    tracked = [k for k, det in seen if any(iou(det.box, d.box) >= SAME_PERSON_IOU for d in _at(track, scan.times)[k])]
    if not seen or len(tracked) >= 0.5 * len(seen):
        return None
    keep = interpolate_boxes(track.times, scan.times[[k for k, _ in seen]], np.array([d.box for _, d in seen]))
    hide = [np.array([d.box for d in dets if iou(d.box, keep[i]) < SAME_PERSON_IOU]).reshape(-1, 4)
            for i, dets in enumerate(track.per_frame)]
    return MaskPlan(track.times, hide, keep)


def _at(track: Detections, times: np.ndarray) -> list[list[Detection]]:
    """The tracker's detections at each of `times` (empty where it has no such frame)."""
    out: list[list[Detection]] = [[] for _ in times]
    for k, i in zip(*shared_frames(times, track.times)):
        out[k] = track.per_frame[i]
    return out


def extract_poses(
    info: VideoInfo,
    settings: PoseSettings,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
    progress: ProgressFn | None = None,
    subject: SubjectHint | None = None,
) -> PoseSeries:
    """Landmarks of the main subject for every frame of [start_s, end_s).

    A whole clip long enough to split runs in time chunks on `settings.workers` processes
    (pose/chunks.py); the joined detections go through subject choice in one piece, so
    the result has the same frames and the same subject as a single-process run.

    Every `hidden_people_scan_s` the people the tracker follows are painted over and the
    detector looks again (pose/masking.py): when the subject is someone it missed, the clip
    is tracked a second time with everyone else painted over.

    With `people_scan_interval_s` > 0 (opt-in fast mode, config.py says what it costs), one
    person is tracked on every frame and a sparse scan looks for everyone; only when the
    scan shows that the track was on somebody other than the chosen subject is the clip
    tracked again with every person followed on every frame.
    """
    w, h = info.width, info.height
    if settings.num_poses > 1 and settings.people_scan_interval_s > 0:
        one_person = settings.model_copy(update={"num_poses": 1})
        track, scan = _detect(info, one_person, start_s, end_s, progress, settings, settings.people_scan_interval_s)
        tracked = [dets[0] if dets else None for dets in track.per_frame]
        check = check_tracked_subject(track.times, tracked, scan.times, scan.per_frame, w, h, subject)
        if check.follows_subject:
            return _series(track.times, tracked, check.subject, w, h)
        progress = None  # the bar is full: the second pass is extra
    looks_behind = settings.num_poses > 1 and settings.hidden_people_scan_s > 0
    track, scan = _detect(info, settings, start_s, end_s, progress, settings if looks_behind else None,
                          settings.hidden_people_scan_s)
    plan = _hidden_subject_plan(track, scan, subject, w, h) if looks_behind else None
    if plan is None:  # people only the scan saw are not counted: on an empty patch of the
        # picture (a plant, a coat) the detector finds a "person" once the subject is painted over
        return series_from_detections(track.times, track.per_frame, w, h, subject)
    found, _ = _detect(info, settings, start_s, end_s, None, mask=plan)
    everyone = [found_dets + others for found_dets, others in zip(found.per_frame, _at(track, found.times))]
    return series_from_detections(found.times, everyone, w, h, subject)


def save_series(series: PoseSeries, path: Path) -> None:
    """Landmarks as .npz: the raw material for re-running kinematics without the model."""
    np.savez_compressed(
        path,
        time_s=series.time_s,
        image_xy=series.image_xy,
        image_z=series.image_z,
        world_xyz=series.world_xyz,
        visibility=series.visibility,
        presence=series.presence,
        width=series.width,
        height=series.height,
    )


def load_series(path: Path) -> PoseSeries:
    with np.load(path) as data:
        return PoseSeries(
            time_s=data["time_s"],
            image_xy=data["image_xy"],
            image_z=data["image_z"],
            world_xyz=data["world_xyz"],
            visibility=data["visibility"],
            presence=data["presence"],
            width=int(data["width"]),
            height=int(data["height"]),
        )


__all__ = ["NUM_LANDMARKS", "create_landmarker", "extract_poses", "load_series", "save_series"]
