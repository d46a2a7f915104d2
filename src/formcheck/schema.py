"""The contract of `analysis.json` (also the API's result body). Documented in docs/analysis-json.md.

Bump SCHEMA_VERSION's major number when a field changes meaning or disappears; add fields
freely within a major version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from formcheck.movements.report import MovementReport

SCHEMA_VERSION = "1.0"


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


class QualityInfo(BaseModel):
    frames_with_pose: int
    pose_fraction: float = Field(description="Share of frames in which the subject was found.")
    leg_swap_frames: list[int] = Field(
        default_factory=list, description="Frames whose left/right leg labels were corrected."
    )
    longest_gap_s: float = Field(description="Longest stretch without a usable knee after gap filling.")
    warnings: list[str] = Field(default_factory=list)


class AngleSummary(BaseModel):
    name: str
    unit: str = "deg"
    valid_fraction: float
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
    movement: MovementReport | None = Field(
        None, description="Movement analysis (exercise, reps, metrics, flags, feedback); see docs/movements.md."
    )
    files: dict[str, str] = Field(description="Output files in the same folder, by role.")
