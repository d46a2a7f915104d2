"""The API contract (pydantic v2): what the endpoints accept and return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from formcheck.schema import LEG_LENGTH_CM, MARKER_SIZE_CM, Analysis

Status = Literal["queued", "running", "done", "failed"]


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_video, upload_too_large.")
    message: str = Field(description="What is wrong, in plain words.")
    hint: str = Field("", description="What to do about it.")


class Links(BaseModel):
    self: str
    report: str | None = None
    video: str | None = Field(None, description="The annotated MP4, drawn on the first request (slow: seconds "
                              "to minutes); the pages play `source` and draw `skeleton` over it instead.")
    source: str | None = Field(None, description="The uploaded clip as sent.")
    angles_csv: str | None = None
    angles_mot: str | None = None
    landmarks: str | None = None
    analysis_json: str | None = None
    skeleton: str | None = None
    swap_legs: str | None = None
    plots: dict[str, str] = Field(default_factory=dict)


class SwapLegs(BaseModel):
    from_s: float = Field(ge=0, description="Time (s) from which the left and right leg labels are exchanged "
                          "(the same time again takes that swap back).")


class AnalysisCreated(BaseModel):
    id: str
    status: Status
    location: str


class JobScale(BaseModel):
    """Optional distance scale of an upload (form fields of the same names); echoed by the job."""

    model_config = ConfigDict(allow_inf_nan=False)

    leg_length_left_cm: float | None = Field(None, ge=LEG_LENGTH_CM[0], le=LEG_LENGTH_CM[1],
                                             description="Left leg, ASIS to medial malleolus, cm.")
    leg_length_right_cm: float | None = Field(None, ge=LEG_LENGTH_CM[0], le=LEG_LENGTH_CM[1],
                                              description="Right leg, ASIS to medial malleolus, cm.")
    marker_size_cm: float | None = Field(None, ge=MARKER_SIZE_CM[0], le=MARKER_SIZE_CM[1],
                                         description="Side of the printed ArUco floor marker (DICT_4X4_50 id 0), cm.")


class AnalysisJob(BaseModel):
    id: str
    status: Status
    progress: float = Field(ge=0, le=1, description="0..1; 1 when done.")
    stage: str = Field("", description="starting, pose, video, done, failed.")
    exercise: str = Field(description="Requested exercise (auto = recognised from the movement).")
    model: str
    file_name: str = Field("", description="Uploaded file's name, for display only.")
    scale: JobScale = Field(default_factory=JobScale, description="The distance scale this job uses (as uploaded).")
    subject: str = Field("auto", description="Who is analysed, as uploaded: auto, largest, most-moving or X,Y@T.")
    created_at: datetime
    updated_at: datetime
    error: ErrorBody | None = Field(None, description="Set when status is failed.")
    analysis: Analysis | None = Field(None, description="analysis.json, set when status is done.")
    links: Links


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
