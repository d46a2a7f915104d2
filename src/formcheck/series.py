"""The two carriers that flow through formcheck: landmarks per frame, then angles per frame.

frames -> PoseSeries (pose/) -> AngleSeries (kinematics/) -> reps and findings (movements/) -> outputs.
Arrays are plain numpy with NaN for "not seen", so every numeric stage is testable without video.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from formcheck.landmarks import NUM_LANDMARKS


@dataclass
class SubjectChoice:
    """Which person was analysed when more than one was seen, and why."""

    people_seen: int = 1
    frames_with_others: int = 0
    reason: str = "only one person in frame"
    method: str = "auto"  # how the subject was chosen: auto, largest, most-moving or a point X,Y@T


@dataclass
class PoseSeries:
    """One subject's landmarks over time.

    image_xy   (T, 33, 2) pixels in the upright frame, x right, y down.
    image_z    (T, 33)    MediaPipe relative depth in pixels (smaller = nearer the camera).
    world_xyz  (T, 33, 3) metres, MediaPipe world frame (origin between the hips, y down).
    visibility (T, 33)    MediaPipe visibility in [0, 1]; presence likewise.
    A frame with no detected pose is all NaN (visibility 0).
    frame_times (F,) every decoded frame's time when the pose was measured on a subset of them
                  (PoseSettings.pose_rate_hz); None when time_s is every frame. Kinematics
                  returns its cleaned series and angles on these frames.
    """

    time_s: np.ndarray
    image_xy: np.ndarray
    image_z: np.ndarray
    world_xyz: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    width: int
    height: int
    subject: SubjectChoice = field(default_factory=SubjectChoice)
    frame_times: np.ndarray | None = None

    def __post_init__(self) -> None:
        t = len(self.time_s)
        shapes = {
            "image_xy": (t, NUM_LANDMARKS, 2),
            "image_z": (t, NUM_LANDMARKS),
            "world_xyz": (t, NUM_LANDMARKS, 3),
            "visibility": (t, NUM_LANDMARKS),
            "presence": (t, NUM_LANDMARKS),
        }
        for name, shape in shapes.items():
            got = getattr(self, name).shape
            if got != shape:
                raise ValueError(f"PoseSeries.{name} has shape {got}, expected {shape}")

    @classmethod
    def empty(cls, time_s: np.ndarray, width: int, height: int) -> PoseSeries:
        """A series of the given timestamps with no pose in any frame."""
        t = len(time_s)
        nan = np.full
        return cls(
            time_s=np.asarray(time_s, dtype=float),
            image_xy=nan((t, NUM_LANDMARKS, 2), np.nan),
            image_z=nan((t, NUM_LANDMARKS), np.nan),
            world_xyz=nan((t, NUM_LANDMARKS, 3), np.nan),
            visibility=np.zeros((t, NUM_LANDMARKS)),
            presence=np.zeros((t, NUM_LANDMARKS)),
            width=width,
            height=height,
        )

    def __len__(self) -> int:
        return len(self.time_s)

    @property
    def all_frame_times(self) -> np.ndarray:
        """Every decoded frame's time (time_s when every frame was measured)."""
        return self.time_s if self.frame_times is None else self.frame_times

    @property
    def detected(self) -> np.ndarray:
        """(T,) bool: a pose was returned for the frame."""
        return ~np.isnan(self.image_xy[:, :, 0]).all(axis=1)

    @property
    def fps(self) -> float:
        """Median frame rate from the timestamps (robust to variable frame rate)."""
        if len(self.time_s) < 2:
            return 0.0
        return float(1.0 / np.median(np.diff(self.time_s)))

    def copy_with(self, **changes) -> PoseSeries:
        return replace(self, **changes)

    def resampled(self, time_s: np.ndarray, max_step_s: float) -> PoseSeries:
        """The landmarks at `time_s`, linearly interpolated between measured frames.

        A frame gets values only between two measured frames at most `max_step_s` apart that
        both have the landmark (a longer gap, or a frame outside the measured span, stays
        unseen: kinematics decides what to fill, never this). Measured frames keep their values.
        """
        time_s = np.asarray(time_s, float)
        out = PoseSeries.empty(time_s, self.width, self.height)
        out.subject = self.subject  # frame_times stays None: the result has a value slot for every frame
        if len(self.time_s) == 0 or len(time_s) == 0:
            return out
        hi = np.clip(np.searchsorted(self.time_s, time_s, side="left"), 0, len(self.time_s) - 1)
        exact = np.abs(self.time_s[hi] - time_s) <= 1e-6
        lo = np.where(exact, hi, np.clip(hi - 1, 0, None))
        inside = exact | ((self.time_s[lo] <= time_s) & (time_s <= self.time_s[hi])
                          & (self.time_s[hi] - self.time_s[lo] <= max_step_s + 1e-6))
        span = self.time_s[hi] - self.time_s[lo]
        w = np.where(span > 0, (time_s - self.time_s[lo]) / np.where(span > 0, span, 1.0), 0.0)
        for name in ("image_xy", "image_z", "world_xyz", "visibility", "presence"):
            values = getattr(self, name)
            shape = (-1,) + (1,) * (values.ndim - 1)
            mixed = values[lo] * (1 - w.reshape(shape)) + values[hi] * w.reshape(shape)
            if name in ("visibility", "presence"):  # unseen is 0 there, not NaN
                unseen = np.isnan(self.image_xy[lo, :, 0]) | np.isnan(self.image_xy[hi, :, 0])
                mixed = np.where(unseen, 0.0, mixed)
            getattr(out, name)[inside] = mixed[inside]
        return out


@dataclass
class AngleSeries:
    """Angles in degrees per frame, keyed by column name (see docs/angles.md).

    Names are `{side}_{joint}_{measure}_deg` from image landmarks (2D) and
    `{side}_{joint}_{measure}_3d_deg` from world landmarks; NaN marks a gap.
    `facing` (T,) is +1 when the subject faces image-right, -1 image-left, 0 unknown.
    `swapped_frames` lists frames whose leg labels were corrected (see kinematics.swaps).
    `withheld` maps a column blanked as unsupported (view, frame edge) to the reason, so outputs
    can say why a column is empty (kinematics.support).
    """

    time_s: np.ndarray
    angles: dict[str, np.ndarray]
    facing: np.ndarray
    swapped_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    withheld: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.angles[name]

    @property
    def names(self) -> list[str]:
        return list(self.angles)


def save_series(series: PoseSeries, path: Path) -> None:
    """Landmarks as .npz: the raw material for re-running kinematics without the model."""
    arrays: dict[str, np.ndarray | int] = {
        "time_s": series.time_s, "image_xy": series.image_xy, "image_z": series.image_z,
        "world_xyz": series.world_xyz, "visibility": series.visibility, "presence": series.presence,
        "width": series.width, "height": series.height,
    }
    if series.frame_times is not None:
        arrays["frame_times"] = series.frame_times
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy types **kwds as ArrayLike


def load_series(path: Path) -> PoseSeries:
    """What save_series wrote (numpy only: reading landmarks never loads the pose model)."""
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
            frame_times=data["frame_times"] if "frame_times" in data.files else None,
        )
