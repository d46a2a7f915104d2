"""The contract of `analysis.json` (also the API's result body). Documented in docs/analysis-json.md.

Bump SCHEMA_VERSION's major number when a field changes meaning or disappears; add fields
freely within a major version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from formcheck.movements.report import MovementReport

SCHEMA_VERSION = "1.2"
# Plausible bounds of a distance scale, cm: an upload's, and (leg lengths) a clinic athlete's.
LEG_LENGTH_CM = (40, 140)
MARKER_SIZE_CM = (2, 100)


class InputInfo(BaseModel):
    file_name: str
    width: int = Field(description="Upright width in pixels (after rotation metadata).")
    height: int
    fps: float = Field(description="Median frame rate from the container's timestamps.")
    duration_s: float
    frames: int = Field(description="Frames decoded and analysed.")
    rotation_deg: int = Field(description="Counter-clockwise rotation applied to make frames upright.")
    codec: str


class ModelInfo(BaseModel):
    name: str
    file: str
    sha256: str


class SubjectInfo(BaseModel):
    people_seen: int
    frames_with_others: int
    reason: str = Field(description="Which person was analysed and why.")
    method: str = Field("auto", description="How the subject was chosen: auto (the person doing the exercise), "
                        "largest, most-moving, or the person at a point X,Y@T (fractions of the frame, seconds).")


class QualityInfo(BaseModel):
    frames_measured: int | None = Field(None, description="Frames the pose model ran on (settings.pose.pose_rate_hz); "
                                        "the frames between are interpolated from them after cleaning.")
    frames_with_pose: int = Field(description="Measured frames in which the subject was found.")
    pose_fraction: float = Field(description="Share of the measured frames in which the subject was found.")
    leg_swap_frames: list[int] = Field(
        default_factory=list, description="Frames whose left/right leg labels were corrected."
    )
    manual_leg_swaps_s: list[float] = Field(
        default_factory=list, description="Times (s) from which a person exchanged the left/right leg labels "
        "(POST .../swap-legs; each later time exchanges them back), applied after the automatic correction."
    )
    longest_gap_s: float = Field(description="Longest stretch without a usable knee after gap filling.")
    warnings: list[str] = Field(default_factory=list)


class AngleSummary(BaseModel):
    name: str
    unit: str = "deg"
    valid_fraction: float
    frames_withheld: int = Field(0, description="Frames whose value the picture did not support: a landmark it "
                                 "needs at the frame's edge, or for the FPPA a thigh pointing toward the camera "
                                 "(kinematics.support).")
    min: float | None
    median: float | None
    max: float | None


class Analysis(BaseModel):
    schema_version: str = SCHEMA_VERSION
    formcheck_version: str
    created_at: datetime
    input: InputInfo
    model: ModelInfo
    settings: dict[str, Any]
    subject: SubjectInfo
    quality: QualityInfo
    angles: list[AngleSummary] = Field(description="Per-column summary; the full series is angles.csv.")
    withheld_measures: dict[str, str] = Field(
        default_factory=dict, description="Angle columns the clip does not support, left empty in angles.csv and "
        "out of the plots, the annotated video and the summaries, with the reason (the camera view, or the "
        "picture in every frame: landmarks at its edge, for the FPPA a thigh pointing toward the camera).")
    movement: MovementReport | None = Field(
        None, description="Movement analysis (exercise, reps, metrics, flags, feedback); see docs/movements.md."
    )
    files: dict[str, str] = Field(description="Output files in the same folder, by role.")
