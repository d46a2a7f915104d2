"""The two carriers that flow through formcheck: landmarks per frame, then angles per frame.

frames -> PoseSeries (pose/) -> AngleSeries (kinematics/) -> reps and findings (movements/) -> outputs.
Arrays are plain numpy with NaN for "not seen", so every numeric stage is testable without video.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
    def empty(cls, time_s: np.ndarray, width: int, height: int) -> "PoseSeries":
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
    def detected(self) -> np.ndarray:
        """(T,) bool: a pose was returned for the frame."""
        return ~np.isnan(self.image_xy[:, :, 0]).all(axis=1)

    @property
    def fps(self) -> float:
        """Median frame rate from the timestamps (robust to variable frame rate)."""
        if len(self.time_s) < 2:
            return 0.0
        return float(1.0 / np.median(np.diff(self.time_s)))

    def copy_with(self, **changes) -> "PoseSeries":
        return replace(self, **changes)


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
