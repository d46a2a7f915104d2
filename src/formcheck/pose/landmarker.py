"""MediaPipe Pose Landmarker (Tasks API) over a video: frames in, one subject's PoseSeries out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions
from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

from formcheck.config import PoseSettings
from formcheck.landmarks import NUM_LANDMARKS
from formcheck.pose.chunks import join_chunks, plan_chunks, unpack_detections
from formcheck.pose.models import resolve_model
from formcheck.pose.parallel import detect_chunks, pose_workers
from formcheck.pose.tracking import Detection, choose_subject
from formcheck.series import PoseSeries
from formcheck.sources import Frame, VideoInfo, iter_frames, read_ahead

ProgressFn = Callable[[int], None]


def create_landmarker(settings: PoseSettings, mode: RunningMode = RunningMode.VIDEO) -> PoseLandmarker:
    options = PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(resolve_model(settings.model))),
        running_mode=mode,
        num_poses=settings.num_poses,
        min_pose_detection_confidence=settings.min_detection_confidence,
        min_pose_presence_confidence=settings.min_presence_confidence,
        min_tracking_confidence=settings.min_tracking_confidence,
    )
    return PoseLandmarker.create_from_options(options)


def detections_from_result(result, width: int, height: int) -> list[Detection]:
    """Convert a PoseLandmarkerResult to pixel-space detections of the upright frame."""
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
    return out


def detect_frames(
    landmarker: PoseLandmarker, frames: Iterable[Frame], width: int, height: int, progress: ProgressFn | None = None
) -> tuple[np.ndarray, list[list[Detection]]]:
    """Run the landmarker in VIDEO mode; timestamps in ms from the container's clock."""
    times: list[float] = []
    per_frame: list[list[Detection]] = []
    last_ms = -1
    for frame in frames:
        ms = max(int(round(frame.time_s * 1000)), last_ms + 1)
        last_ms = ms
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.image)
        result = landmarker.detect_for_video(image, ms)
        times.append(frame.time_s)
        per_frame.append(detections_from_result(result, width, height))
        if progress:
            progress(1)
    return np.asarray(times, dtype=float), per_frame


def series_from_detections(
    times: np.ndarray, per_frame: list[list[Detection]], width: int, height: int
) -> PoseSeries:
    """Pick the main subject and pack its landmarks into a PoseSeries (NaN where absent)."""
    chosen, subject = choose_subject(times, per_frame, width, height)
    series = PoseSeries.empty(times, width, height)
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


def extract_poses(
    info: VideoInfo,
    settings: PoseSettings,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
    progress: ProgressFn | None = None,
) -> PoseSeries:
    """Landmarks of the main subject for every frame of [start_s, end_s).

    A whole clip long enough to split runs in time chunks on `settings.workers` processes
    (pose/chunks.py); the joined detections go through subject choice in one piece, so
    the result has the same frames and the same subject as a single-process run.
    """
    span = (end_s if end_s is not None else info.duration_s) - start_s
    chunks = plan_chunks(max(span, 1e-3), pose_workers(settings), settings.min_chunk_s, settings.chunk_overlap_s)
    if len(chunks) > 1 and start_s == 0.0 and end_s is None:
        parts = [unpack_detections(packed) for packed in detect_chunks(info, settings, chunks, progress)]
        times, per_frame = join_chunks(parts, info.width, info.height)
    else:
        frames = iter_frames(info, max_long_side=settings.inference_long_side, start_s=start_s, end_s=end_s)
        with create_landmarker(settings) as landmarker:
            times, per_frame = detect_frames(landmarker, read_ahead(frames), info.width, info.height, progress)
    return series_from_detections(times, per_frame, info.width, info.height)


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
