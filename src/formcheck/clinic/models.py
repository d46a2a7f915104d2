"""The clinic's data model and API contract (pydantic v2).

Athletes belong to one clinician; a screening (one date) holds tests; a test is one clip
(mSEBT for one stance leg and direction with its trials, a lunge or a step-up) linked to the
service's analysis job that analysed it. `ScreeningResult` is what the reports render.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from formcheck.clinic.clip_checks import LegCheck, ViewCheck
from formcheck.clinic.scoring import Direction, Leg, SebtScore, Trial
from formcheck.movements.report import Flag, MetricValue
from formcheck.service.models import LEG_LENGTH_CM

TestKind = Literal["msebt", "lunge", "step_up"]
TestStatus = Literal["no_clip", "queued", "running", "done", "failed"]
# The service's exercise for each test kind (mSEBT: the direction the clinician filmed).
EXERCISE = {"lunge": "lunge", "step_up": "step_up"}  # "lunge": any lunge variant, recognised
TRIALS_PER_DIRECTION = 3


def exercise_for(kind: str, direction: str | None) -> str:
    return f"sebt_{direction}" if kind == "msebt" else EXERCISE[kind]


# -- accounts --------------------------------------------------------------------------------
class Credentials(BaseModel):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=10, max_length=256, description="At least 10 characters.")
    session: Literal["bearer", "cookie"] = Field(
        "bearer", description="bearer: the token is in the answer (API clients); cookie: an HttpOnly cookie (browser pages).")

    @field_validator("email")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.strip().lower()


class Registration(Credentials):
    name: str = Field("", max_length=120, description="Shown on reports.")


class Clinician(BaseModel):
    id: str
    email: str
    name: str
    created_at: dt.datetime


class TokenOut(BaseModel):
    token: str | None = Field(None, description="Bearer token: send as `Authorization: Bearer <token>`. Shown once; "
                                                 "None for a cookie session (the browser keeps it).")
    token_type: Literal["bearer"] = "bearer"
    expires_at: dt.datetime
    clinician: Clinician


class ApiKeyIn(BaseModel):
    label: str = Field("", max_length=80, description="What the key is for, e.g. 'club EMR'.")


class ApiKey(BaseModel):
    id: str
    label: str
    prefix: str = Field(description="First characters of the key, to recognise it; the key itself is never stored.")
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The key: send as `X-API-Key: <key>` (or as a bearer token). Shown once.")


class ShareLinkIn(BaseModel):
    days: float = Field(14, gt=0, le=90, description="Days until the link expires.")


class ShareLink(BaseModel):
    id: str
    screening_id: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None


class ShareLinkCreated(ShareLink):
    token: str = Field(description="Secret part of the URL. Shown once.")
    url: str = Field(description="Read-only report for the athlete: /share/<token>.")


# -- athletes --------------------------------------------------------------------------------
class AthleteIn(BaseModel):
    name: str = Field(min_length=1, max_length=120, description="Name or code.")
    birth_year: int | None = Field(None, ge=1900, le=2100)
    leg_length_left_cm: float | None = Field(None, ge=LEG_LENGTH_CM[0], le=LEG_LENGTH_CM[1],
                                             description="ASIS to medial malleolus, cm.")
    leg_length_right_cm: float | None = Field(None, ge=LEG_LENGTH_CM[0], le=LEG_LENGTH_CM[1],
                                              description="ASIS to medial malleolus, cm.")
    dominant_leg: Leg | None = None
    injury_notes: str = Field("", max_length=4000)

    @field_validator("name")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("name must not be blank")
        return v

    @field_validator("birth_year")
    @classmethod
    def _not_future(cls, v: int | None) -> int | None:
        if v is not None and v > dt.date.today().year:
            raise ValueError("birth year is in the future")
        return v


class AthletePatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=120)
    birth_year: int | None = Field(None, ge=1900, le=2100)
    leg_length_left_cm: float | None = Field(None, ge=LEG_LENGTH_CM[0], le=LEG_LENGTH_CM[1])
    leg_length_right_cm: float | None = Field(None, ge=LEG_LENGTH_CM[0], le=LEG_LENGTH_CM[1])
    dominant_leg: Leg | None = None
    injury_notes: str | None = Field(None, max_length=4000)


class Athlete(AthleteIn):
    id: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def leg_length_cm(self) -> dict[str, float | None]:
        return {"left": self.leg_length_left_cm, "right": self.leg_length_right_cm}


# -- screenings and tests --------------------------------------------------------------------
class ScreeningIn(BaseModel):
    date: dt.date = Field(default_factory=dt.date.today)
    notes: str = Field("", max_length=4000)


class ManualTrial(BaseModel):
    """A reach the clinician measured with a tape (no clip needed)."""

    trial: int = Field(ge=1, le=10)
    reach_cm: float = Field(gt=0, le=250)
    valid: bool = True
    invalid_reasons: list[str] = Field(default_factory=list)


class ScreeningTestIn(BaseModel):
    kind: TestKind
    leg: Leg | None = Field(None, description="mSEBT: the stance leg (required). Lunge/step-up: optional.")
    direction: Direction | None = Field(None, description="mSEBT only (required).")
    manual_trials: list[ManualTrial] = Field(default_factory=list, description="mSEBT reaches measured by tape.")

    @model_validator(mode="after")
    def _msebt_needs_leg_and_direction(self) -> ScreeningTestIn:
        if self.kind == "msebt" and (self.leg is None or self.direction is None):
            raise ValueError("an mSEBT test needs the stance leg and the reach direction")
        if self.kind != "msebt" and (self.direction is not None or self.manual_trials):
            raise ValueError("direction and manual_trials are for mSEBT tests only")
        return self


class ClipJob(BaseModel):
    """Progress of the clip's analysis (the job id stays on the server: clips are served by the clinic's routes)."""

    status: str
    progress: float
    stage: str = ""
    error: dict[str, str] | None = None
    marker_size_cm: float | None = Field(None, description="Side of the floor marker given with the clip, cm.")


class ScreeningTest(BaseModel):
    id: str
    screening_id: str
    kind: TestKind
    leg: Leg | None = None
    direction: Direction | None = None
    status: TestStatus
    file_name: str = ""
    job: ClipJob | None = Field(None, description="The analysis of the clip (the service's job).")
    manual_trials: list[ManualTrial] = Field(default_factory=list)
    view_check: ViewCheck | None = Field(None, description="The clip's camera view against the test's (done clips).")
    leg_check: LegCheck | None = Field(None, description="The leg the clip shows against the test's (done clips).")
    created_at: dt.datetime
    links: dict[str, str] = Field(default_factory=dict)


class Screening(BaseModel):
    id: str
    athlete_id: str
    date: dt.date
    notes: str = ""
    created_at: dt.datetime
    tests: list[ScreeningTest] = Field(default_factory=list)


class ScreeningTestResult(BaseModel):
    """One analysed test, reduced to what scoring and reports need."""

    test: ScreeningTest
    exercise: str | None = None
    view: str | None = None
    reps: int = 0
    summary: dict[str, MetricValue] = Field(default_factory=dict)
    rep_metrics: list[dict[str, MetricValue]] = Field(default_factory=list,
                                                     description="Per rep: side, direction, valid, metrics.")
    flags: list[Flag] = Field(default_factory=list)
    feedback: list[str] = Field(default_factory=list, description="Clinician feedback of the analysis.")


class ScreeningResult(BaseModel):
    athlete: Athlete
    screening: Screening
    sebt: SebtScore | None = Field(None, description="mSEBT score (None without any mSEBT test).")
    trials: list[Trial] = Field(default_factory=list, description="mSEBT trials fed to the scoring.")
    tests: list[ScreeningTestResult] = Field(default_factory=list)
    pending: list[str] = Field(default_factory=list, description="Tests whose analysis is not finished.")
    clinician_name: str = ""


# -- history ----------------------------------------------------------------------------------
class HistoryPoint(BaseModel):
    screening_id: str
    date: dt.date
    value: float | None
    change: float | None = Field(None, description="Change since the previous screening with a value.")
    beyond_mdc: bool = Field(False, description="|change| > the metric's minimal detectable change.")


class MetricHistory(BaseModel):
    metric: str
    label: str
    unit: str
    mdc: float | None = Field(None, description="Minimal detectable change, same unit (None: no published value).")
    mdc_source: str = ""
    points: list[HistoryPoint]
    flags: list[str] = Field(default_factory=list, description="One sentence per change beyond the MDC.")


class AthleteHistory(BaseModel):
    athlete_id: str
    metrics: list[MetricHistory]
