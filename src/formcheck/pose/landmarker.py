"""MediaPipe Pose Landmarker (Tasks API) over a video: frames in, one subject's PoseSeries out.

The model itself is behind pose/detector.py; this module runs it over a clip (in time chunks on
several processes, pose/parallel.py), chooses the subject and packs the PoseSeries.
"""

from __future__ import annotations

import numpy as np

from formcheck.config import PoseSettings, pose_sample_step
from formcheck.landmarks import NUM_LANDMARKS
from formcheck.pose.chunks import join_chunks, plan_chunks, unpack_detections
from formcheck.pose.detector import ProgressFn, create_landmarker, detect_frames, open_scanner
from formcheck.pose.masking import MaskPlan, interpolate_boxes
from formcheck.pose.parallel import detect_chunks, pose_frames, pose_workers
from formcheck.pose.tracking import (
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
from formcheck.sources import VideoInfo
from formcheck.spool import FrameSpool


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
    spool: FrameSpool | None = None,
) -> tuple[Detections, Detections, np.ndarray]:
    """Every sampled frame through one tracker (and the sparse scan, when asked), on as many
    processes as the clip's length allows when it is the whole clip; also the time of every
    decoded frame."""
    span = (end_s if end_s is not None else info.duration_s) - start_s
    chunks = plan_chunks(max(span, 1e-3), pose_workers(settings), settings.min_chunk_s, settings.chunk_overlap_s)
    if len(chunks) > 1 and start_s == 0.0 and end_s is None:
        results = detect_chunks(info, settings, chunks, progress, scan_settings, scan_interval_s, mask, spool)
        track = Detections(*join_chunks([unpack_detections(r["track"]) for r in results], info.width, info.height))
        scan = Detections.concat([Detections(*unpack_detections(r["scan"])) for r in results])
        return track, scan, np.concatenate([r["decoded"] for r in results])
    frames = pose_frames(info, settings, start_s, end_s, spool.part(0) if spool else None)
    with create_landmarker(settings) as landmarker, open_scanner(scan_settings) as scanner:
        return detect_frames(
            landmarker, frames, info.width, info.height, progress,
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
    spool: FrameSpool | None = None,
) -> PoseSeries:
    """Landmarks of the main subject for every frame of [start_s, end_s).

    With a `spool`, the first pass over the frames also keeps them for the annotated video
    (spool.py), so the clip is decoded once for both.

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
        track, scan, decoded = _detect(info, one_person, start_s, end_s, progress, settings,
                                       settings.people_scan_interval_s, spool=spool)
        spool = None  # kept
        tracked = [dets[0] if dets else None for dets in track.per_frame]
        check = check_tracked_subject(track.times, tracked, scan.times, scan.per_frame, w, h, subject)
        if check.follows_subject:
            return _with_frame_times(_series(track.times, tracked, check.subject, w, h), decoded, info, settings)
        progress = None  # the bar is full: the second pass is extra
    looks_behind = settings.num_poses > 1 and settings.hidden_people_scan_s > 0
    track, scan, decoded = _detect(info, settings, start_s, end_s, progress, settings if looks_behind else None,
                                   settings.hidden_people_scan_s, spool=spool)
    plan = _hidden_subject_plan(track, scan, subject, w, h) if looks_behind else None
    if plan is None:  # people only the scan saw are not counted: on an empty patch of the
        # picture (a plant, a coat) the detector finds a "person" once the subject is painted over
        return _with_frame_times(series_from_detections(track.times, track.per_frame, w, h, subject), decoded, info,
                           settings)
    found, _, decoded = _detect(info, settings, start_s, end_s, None, mask=plan)
    everyone = [found_dets + others for found_dets, others in zip(found.per_frame, _at(track, found.times))]
    return _with_frame_times(series_from_detections(found.times, everyone, w, h, subject), decoded, info, settings)


def _with_frame_times(measured: PoseSeries, decoded: np.ndarray, info: VideoInfo, settings: PoseSettings) -> PoseSeries:
    """The measured frames, with every decoded frame's time when they are a subset
    (pose_rate_hz): kinematics cleans the measured frames (leg labels, gaps, filter) and only
    then interpolates to every frame, so no frame is a blend of two leg labellings."""
    if pose_sample_step(settings.pose_rate_hz, info.fps) > 1:
        measured.frame_times = np.asarray(decoded, float)
    return measured


__all__ = ["NUM_LANDMARKS", "extract_poses"]
