"""Every tunable parameter of the pipeline in one place, with its default and why.

Clinical thresholds (flag cut-offs with citations) live separately in
`movements/thresholds.toml`; this file holds the signal-processing and model settings.
A user overrides any of them with a TOML file: `formcheck analyze --config my.toml`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, Field

# The bundled pose models (models/), by name: the one list the CLIs, the service and the pose stage use.
ModelName = Literal["lite", "full", "heavy"]
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)


class PoseSettings(BaseModel):
    model: ModelName = "full"
    # People looked for: two let the tracker see a second person and keep the main subject.
    num_poses: int = Field(2, ge=1, le=5)
    # Opt-in fast mode (> 0): track one person on every frame and scan for everyone this
    # often, re-tracking everyone only when the scan shows the track was on someone else
    # (pose/tracking.check_tracked_subject). Looking for two people makes MediaPipe run its
    # person detector on every frame (slower); that also re-anchors the landmarks on every
    # frame, and without it accuracy drops (bench/README.md: throughput.py and accuracy.py with
    # this setting), so it is off by default.
    # 1/3 s: a second person must be seen in two scans (>= 0.5 s) to count.
    people_scan_interval_s: float = Field(0.0, ge=0)
    # MediaPipe's person detector returns the dominant person and misses a smaller one beside
    # them (a presenter in the foreground hid the athlete in every frame). This often the
    # people tracked are painted over and the detector looks again; when the subject turns
    # out to be someone it missed, the clip is tracked again with the others painted over
    # (pose/masking.py). 0 = off. One look a second finds anyone present for longer.
    hidden_people_scan_s: float = Field(1.0, ge=0)
    min_detection_confidence: float = Field(0.5, ge=0, le=1)
    min_presence_confidence: float = Field(0.5, ge=0, le=1)
    min_tracking_confidence: float = Field(0.5, ge=0, le=1)
    # Opt-in fast mode (> 0): measure the landmarks this often, clean them (leg labels, gaps,
    # low-pass) and interpolate to the frames between. Kinematics keeps nothing above its 6 Hz
    # low-pass, so 15 Hz (2.5x) halves the pose model's work on a 30 fps clip; but the model's
    # leg-label confusions are harder to undo with half the frames (bench/accuracy.py, 11
    # side-view clips: knee flexion MAE 3.7 -> 4.0 deg, concentrated in a step-up whose legs
    # cross), so it is off by default (0 = every frame). Clips below 2x this rate are
    # measured on every frame.
    pose_rate_hz: float = Field(0.0, ge=0)
    # The models look at 256x256 crops; decoding a 4K frame down to this size first costs
    # nothing in accuracy and saves the landmarker's own resize of a huge image.
    inference_long_side: int = Field(1280, ge=256)
    # One landmarker uses one core, so a clip is cut into time chunks, each run by its own
    # landmarker in its own process, and joined where the chunks agree (pose/chunks.py).
    # 0 = one process per available core; the service sets 1 when it runs jobs side by side.
    workers: int = Field(0, ge=0)
    # Shorter chunks would spend more on process start-up and overlap than they save.
    min_chunk_s: float = Field(4.0, gt=0)
    # Neighbouring chunks both analyse this much clip; a landmarker starting mid-clip has
    # settled (detection, tracking, landmark smoothing) well within it.
    chunk_overlap_s: float = Field(1.0, ge=0)


def pose_sample_step(pose_rate_hz: float, fps: float) -> int:
    """Every how many frames of a `fps` clip the pose model runs to measure at `pose_rate_hz` or
    more (2 % below counts: 29.97 fps clips are measured at 14.985 Hz)."""
    if pose_rate_hz <= 0 or fps <= 0:
        return 1
    return max(1, int(fps / pose_rate_hz * 1.02))


class KinematicsSettings(BaseModel):
    # Below this MediaPipe visibility a landmark is treated as unseen.
    visibility_min: float = Field(0.5, ge=0, le=1)
    # Gaps up to this long are interpolated; longer ones stay gaps (never invented).
    max_gap_s: float = Field(0.25, ge=0)
    # Butterworth low-pass cut-off: 6 Hz keeps lunge/step-up motion (< 3 Hz) and removes jitter.
    cutoff_hz: float = Field(6.0, gt=0)
    filter_order: int = Field(2, ge=1, le=8)  # run forward and backward: effective order x2
    # One Euro filter for live use (Casiez et al. 2012 defaults tuned for 30 fps pixels).
    one_euro_min_cutoff: float = Field(1.0, gt=0)
    one_euro_beta: float = Field(0.05, ge=0)
    # A leg-label swap is corrected when the swapped labelling is this much cheaper than the
    # current one, in units of thigh length summed over the leg chain.
    swap_penalty: float = Field(0.35, ge=0)


class InputLimits(BaseModel):
    min_duration_s: float = 1.0
    max_duration_s: float = 15 * 60.0
    min_pose_fraction: float = 0.2  # below this share of frames with a person: "no person"


class LiveSettings(BaseModel):
    """Live analysis (webcam, `formcheck live`, /api/v1/live): speed first, causal throughout.

    Kept out of `Settings` (whose dump is part of analysis.json); the live session takes it
    beside the pipeline settings, whose kinematics and pose confidences it reuses.
    """

    # The lite model keeps a frame under the live latency budget on a laptop CPU.
    model: str = "lite"
    # One pose: the subject stands alone in front of their own camera; a second pose costs time.
    num_poses: int = Field(1, ge=1, le=5)
    # Frames are shrunk to this long side before the model (it sees 256x256 crops anyway).
    inference_long_side: int = Field(640, ge=256)
    # The camera-setup check looks at the most recent this-many seconds of frames.
    setup_window_s: float = Field(1.0, gt=0)
    # Head and feet must stay this share of the image size away from its edges.
    frame_margin: float = Field(0.02, ge=0, lt=0.5)
    # Standing (rest) level of the rep driver: low percentile over this many recent seconds.
    rest_window_s: float = Field(10.0, gt=0)
    # Landmark history kept to measure a finished rep with the offline rep metrics.
    history_s: float = Field(15.0, gt=1)


class OutputSettings(BaseModel):
    # The pose stage keeps the decoded frames (raw 4:2:0 at the annotated video's size, in the
    # temp dir) so the annotated video needs no second decode (spool.py): up to this many MB
    # (2048: about 50 s of 720p at 30 fps); a longer clip is decoded again instead.
    frame_spool_mb: float = Field(2048.0, ge=0)


class Settings(BaseModel):
    pose: PoseSettings = PoseSettings()
    kinematics: KinematicsSettings = KinematicsSettings()
    limits: InputLimits = InputLimits()
    outputs: OutputSettings = OutputSettings()

    @classmethod
    def from_toml(cls, path: Path | None) -> Settings:
        if path is None:
            return cls()
        with open(path, "rb") as fh:
            return cls.model_validate(tomllib.load(fh))
