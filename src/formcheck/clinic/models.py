"""The clinic's data model and API contract (pydantic v2).

Athletes belong to one clinician; a screening (one date) holds tests; a test is one clip
(mSEBT for one stance leg and direction with its trials, a lunge or a step-up) linked to the
service's analysis job that analysed it. `ScreeningResult` is what the reports render.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator, model_validator

from formcheck.clinic.clip_checks import LegCheck, ViewCheck
from formcheck.clinic.scoring import Direction, Leg, SebtScore, Trial
from formcheck.movements.report import Flag, MetricValue
from formcheck.schema import LEG_LENGTH_CM

TestKind = Literal["msebt", "lunge", "step_up"]
TestStatus = Literal["no_clip", "queued", "running", "done", "failed"]
# The service's exercise for each test kind (mSEBT: the direction the clinician filmed).
EXERCISE = {"lunge": "lunge", "step_up": "step_up"}  # "lunge": any lunge variant, recognised
MAX_MANUAL_TRIALS = 10  # trial numbers 1-10: more would be copies
EARLIEST_SCREENING = dt.date(2000, 1, 1)
OLDEST_AGE_Y, YOUNGEST_AGE_Y = 110, 3  # plausible athletes' ages for a birth year
# Unicode's explicit direction marks, embeddings, overrides and isolates: they reorder how a name
# reads (U+202E shows "evil.exe" as "exe.live") in reports, CSVs and lists.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _plain_text(value: str, line_breaks: bool) -> str:
    for ch in value:
        if ch in BIDI_CONTROLS:
            raise ValueError(f"must not contain text-direction controls (U+{ord(ch):04X})")
        if unicodedata.category(ch) == "Cc" and not (line_breaks and ch in "\n\r\t"):
            raise ValueError(f"must not contain control characters (U+{ord(ch):04X})")
    return value


# A name or label: printable text on one line. Notes may also hold line breaks and tabs.
OneLine = Annotated[str, AfterValidator(lambda v: _plain_text(v, line_breaks=False))]
Notes = Annotated[str, AfterValidator(lambda v: _plain_text(v, line_breaks=True))]


def exercise_for(kind: str, direction: str | None) -> str:
    return f"sebt_{direction}" if kind == "msebt" else EXERCISE[kind]


KIND_LABELS = {"msebt": "mSEBT", "lunge": "Lunge", "step_up": "Step-up"}


def describe_test(kind: str, leg: str | None, direction: str | None) -> str:
    """A test in words ("mSEBT, left stance, anterior"), as the clinician names it: never its id."""
    label = KIND_LABELS.get(kind, kind.replace("_", " "))
    if kind == "msebt" and leg and direction:
        return f"{label}, {leg} stance, {direction}"
    return f"{label}, {leg} leg" if leg else label


# A step of the screening protocol, as the wizard keys it: "<kind>:<leg>:<direction>".
STEP_KEY = r"^(msebt:(left|right):(anterior|posteromedial|posterolateral)|lunge::|step_up::)$"


# -- accounts --------------------------------------------------------------------------------
class Credentials(BaseModel):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=10, max_length=256, description="At least 10 characters.")
    session: Literal["bearer", "cookie"] = Field(
        "bearer",
        description="bearer: the token is in the answer (API clients); cookie: an HttpOnly cookie (browser pages).")

    @field_validator("email")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.strip().lower()


class Login(Credentials):
    totp: str | None = Field(None, max_length=12, description="The 6-digit code of your authenticator app, "
                                                             "when the account has a second factor.")


class Registration(Credentials):
    name: OneLine = Field("", max_length=120, description="Shown on reports.")


class Registered(BaseModel):
    message: str = Field(description="The same answer whether or not the e-mail already had an account.")
    login: str = Field(description="Where to log in next.")


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(min_length=10, max_length=256, description="At least 10 characters, not easy to guess.")


class PasswordReset(BaseModel):
    token: str = Field(min_length=10, max_length=200, description="The reset token your operator issued.")
    new_password: str = Field(min_length=10, max_length=256, description="At least 10 characters, not easy to guess.")


class SessionsEnded(BaseModel):
    ended: int = Field(description="How many other logins were ended.")
    message: str


class TotpSetup(BaseModel):
    secret: str = Field(description="Base32 secret for the authenticator app (shown once).")
    otpauth_uri: str = Field(description="The same as an otpauth:// URI (for a QR code).")


class TotpCode(BaseModel):
    code: str = Field(min_length=6, max_length=12, description="The current 6-digit code.")


Scope = Literal["read", "write", "admin"]


class Clinician(BaseModel):
    id: str
    email: str
    name: str
    created_at: dt.datetime
    totp_enabled: bool = Field(False, description="Logins need a code from an authenticator app.")
    # How this request was authenticated (not part of the answer): a login, or an API key and its scope.
    via: Literal["session", "api_key"] = Field("session", exclude=True)
    scope: Scope = Field("admin", exclude=True)
    actor: str = Field("login", exclude=True, description="Who did it, for the audit log.")


class TokenOut(BaseModel):
    token: str | None = Field(None, description="Bearer token: send as `Authorization: Bearer <token>`. Shown once; "
                                                 "None for a cookie session (the browser keeps it).")
    token_type: Literal["bearer"] = "bearer"
    expires_at: dt.datetime
    clinician: Clinician


class ApiKeyIn(BaseModel):
    label: OneLine = Field("", max_length=80, description="What the key is for, e.g. 'club EMR'.")
    scope: Scope = Field("read", description="read: GET only; write: also add and change athletes, screenings, "
                                             "tests and clips; admin: also delete them and create share links. "
                                             "No key can create or revoke keys or change the account.")
    days: float = Field(90, gt=0, le=365, description="Days until the key expires.")


class ApiKey(BaseModel):
    id: str
    label: str
    prefix: str = Field(description="First characters of the key, to recognise it; the key itself is never stored.")
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    scope: Scope = "write"
    expires_at: dt.datetime | None = None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The key: send as `X-API-Key: <key>` (or as a bearer token). Shown once.")


class ShareLinkIn(BaseModel):
    days: float = Field(14, gt=0, le=90, description="Days until the link expires.")
    include_history: bool = Field(False, description="Also show the athlete's earlier screenings (never later ones).")
    include_notes: bool = Field(False, description="Also show the injury and screening notes.")


class ShareLink(BaseModel):
    id: str
    screening_id: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
    include_history: bool = False
    include_notes: bool = False


class ShareLinkCreated(ShareLink):
    token: str = Field(description="Secret part of the URL. Shown once.")
    url: str = Field(description="Read-only report for the athlete: /share/<token>.")


# -- athletes --------------------------------------------------------------------------------
class AthleteIn(BaseModel):
    name: OneLine = Field(min_length=1, max_length=120, description="Name or code.")
    birth_year: int | None = Field(None, ge=1900, le=2100)
    leg_length_left_cm: float | None = Field(None, ge=LEG_LENGTH_CM[0], le=LEG_LENGTH_CM[1],
                                             description="ASIS to medial malleolus, cm.")
    leg_length_right_cm: float | None = Field(None, ge=LEG_LENGTH_CM[0], le=LEG_LENGTH_CM[1],
                                              description="ASIS to medial malleolus, cm.")
    dominant_leg: Leg | None = None
    injury_notes: Notes = Field("", max_length=4000)

    @field_validator("name")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("name must not be blank")
        return v

    @field_validator("birth_year")
    @classmethod
    def _plausible_age(cls, v: int | None) -> int | None:
        this_year = dt.date.today().year
        if v is not None and not this_year - OLDEST_AGE_Y <= v <= this_year - YOUNGEST_AGE_Y:
            raise ValueError(f"birth year must be between {this_year - OLDEST_AGE_Y} and {this_year - YOUNGEST_AGE_Y}")
        return v


class AthletePatch(BaseModel):
    name: OneLine | None = Field(None, min_length=1, max_length=120)
    birth_year: int | None = Field(None, ge=1900, le=2100)
    leg_length_left_cm: float | None = Field(None, ge=LEG_LENGTH_CM[0], le=LEG_LENGTH_CM[1])
    leg_length_right_cm: float | None = Field(None, ge=LEG_LENGTH_CM[0], le=LEG_LENGTH_CM[1])
    dominant_leg: Leg | None = None
    injury_notes: Notes | None = Field(None, max_length=4000)


class Athlete(BaseModel):
    """A stored athlete as it is answered: read back as stored (the input checks are AthleteIn's)."""

    id: str
    name: str
    birth_year: int | None = None
    leg_length_left_cm: float | None = None
    leg_length_right_cm: float | None = None
    dominant_leg: Leg | None = None
    injury_notes: str = ""
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def leg_length_cm(self) -> dict[str, float | None]:
        return {"left": self.leg_length_left_cm, "right": self.leg_length_right_cm}


# -- screenings and tests --------------------------------------------------------------------
class ScreeningIn(BaseModel):
    date: dt.date = Field(default_factory=dt.date.today)
    notes: Notes = Field("", max_length=4000)

    @field_validator("date")
    @classmethod
    def _plausible_date(cls, v: dt.date) -> dt.date:
        latest = dt.date.today() + dt.timedelta(days=1)  # a clinic a time zone ahead of the server is already there
        if not EARLIEST_SCREENING <= v <= latest:
            raise ValueError(f"the screening date must be between {EARLIEST_SCREENING} and today")
        return v


class ScreeningPatch(BaseModel):
    skipped_steps: list[Annotated[str, StringConstraints(pattern=STEP_KEY)]] | None = Field(
        None, max_length=8, description="Protocol steps the clinician skipped for now (the wizard's step keys, "
                                        "e.g. 'msebt:left:anterior', 'lunge::'); kept across sessions.")


class ClinicianNoteIn(BaseModel):
    notes: Notes = Field("", max_length=4000, description="The clinician's note on this test (shown in the report).")


class ManualTrial(BaseModel):
    """A reach the clinician measured with a tape (no clip needed)."""

    trial: int = Field(ge=1, le=10)
    reach_cm: float = Field(gt=0, le=250)
    valid: bool = True
    invalid_reasons: list[str] = Field(default_factory=list, max_length=10)


def _distinct_trials(trials: list[ManualTrial]) -> list[ManualTrial]:
    numbers = [t.trial for t in trials]
    if len(set(numbers)) != len(numbers):
        raise ValueError("each trial number may appear once")
    return trials


ManualTrials = Annotated[list[ManualTrial], Field(max_length=MAX_MANUAL_TRIALS), AfterValidator(_distinct_trials)]


class ScreeningTestIn(BaseModel):
    kind: TestKind
    leg: Leg | None = Field(None, description="mSEBT: the stance leg (required). Lunge/step-up: optional.")
    direction: Direction | None = Field(None, description="mSEBT only (required).")
    manual_trials: ManualTrials = Field(default_factory=list, description="mSEBT reaches measured by tape.")

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
    notes: str = Field("", description="The clinician's note on this test.")
    created_at: dt.datetime
    links: dict[str, str] = Field(default_factory=dict)


class Screening(BaseModel):
    id: str
    athlete_id: str
    date: dt.date
    notes: str = ""
    skipped_steps: list[str] = Field(default_factory=list, description="Protocol steps skipped for now.")
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
    camera_sebt: SebtScore | None = Field(
        None, description="When tape reaches are scored for a test that also has an analysed clip: the clips' "
                          "own reaches, scored alone, to show next to the tape (None otherwise).")
    tests: list[ScreeningTestResult] = Field(default_factory=list)
    pending: list[str] = Field(default_factory=list, description="Tests whose analysis is not finished.")
    clinician_name: str = ""


class AuditEntry(BaseModel):
    """Who viewed, exported, shared or deleted an athlete's data, and when."""

    athlete_id: str
    action: Literal["viewed", "exported", "shared", "deleted"]
    what: str
    actor: str = Field(description="login (the clinician's own session), 'API key fck_…', or 'share link …'.")
    at: dt.datetime


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
