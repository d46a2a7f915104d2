"""The API contract (pydantic v2): what the endpoints accept and return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from formcheck.schema import Analysis

Status = Literal["queued", "running", "done", "failed"]


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_video, upload_too_large.")
    message: str = Field(description="What is wrong, in plain words.")
    hint: str = Field("", description="What to do about it.")


class Links(BaseModel):
    self: str
    report: str | None = None
    video: str | None = None
    angles_csv: str | None = None
    plots: dict[str, str] = Field(default_factory=dict)


class AnalysisCreated(BaseModel):
    id: str
    status: Status
    location: str


class AnalysisJob(BaseModel):
    id: str
    status: Status
    progress: float = Field(ge=0, le=1, description="0..1; 1 when done.")
    stage: str = Field("", description="starting, pose, video, done, failed.")
    exercise: str = Field(description="Requested exercise (auto = recognised from the movement).")
    model: str
    file_name: str = Field("", description="Uploaded file's name, for display only.")
    created_at: datetime
    updated_at: datetime
    error: ErrorBody | None = Field(None, description="Set when status is failed.")
    analysis: Analysis | None = Field(None, description="analysis.json, set when status is done.")
    links: Links


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
