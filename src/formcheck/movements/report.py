"""Result models of the movement analysis (pydantic v2); embedded in analysis.json."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

View = Literal["sagittal", "frontal", "oblique", "unknown"]
Side = Literal["left", "right", "both"]
MetricValue = float | bool | str | None


def metric_number(value: MetricValue) -> float | None:
    """A metric as a number: None when it is missing, a yes/no or a text (bool is an int in Python)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class Flag(BaseModel):
    """One compensation finding. Every flag carries its number, its cut-off and where it comes from."""

    code: str                      # threshold key, e.g. "knee_valgus_fppa"
    label: str
    rep_index: int | None = None   # None = whole-clip flag (asymmetry, consistency, composite)
    side: Side | None = None
    value: float
    threshold: float
    unit: str
    direction: Literal["above", "below"]
    evidence: Literal["published", "coaching default"]
    source: str
    population: str = ""
    cue: str                       # runner language
    detail: str = ""               # clinician language, with the numbers


class Feedback(BaseModel):
    runner: list[str] = Field(default_factory=list)
    clinician: list[str] = Field(default_factory=list)


class Rep(BaseModel):
    index: int
    side: Side
    start_s: float
    bottom_s: float                # deepest point / top of the step / maximal reach
    end_s: float
    complete: bool = True          # False = partial rep: no flags from it, left out of averages and comparisons
    # why it is partial: "cut by the clip's start", "cut by the clip's end", "cut by a gap in the
    # pose" (the rest posture before or after it was not seen) or "shallow" (< partial_rep of the median)
    partial_reason: str | None = None
    direction: str | None = None   # mSEBT reach direction, lunge direction
    events: dict[str, float] = Field(default_factory=dict)
    metrics: dict[str, MetricValue] = Field(default_factory=dict)
    flags: list[Flag] = Field(default_factory=list)
    feedback: Feedback = Field(default_factory=Feedback)


class UnsupportedMeasure(BaseModel):
    measure: str
    reason: str
    advice: str


class Asymmetry(BaseModel):
    metric: str
    left: float
    right: float
    unit: str
    abs_diff: float
    pct_diff: float                # |L - R| / max(|L|, |R|) * 100


class MovementReport(BaseModel):
    exercise: str
    exercise_label: str = ""
    exercise_confidence: float | None = None   # recognition confidence; None for "unknown" (nothing recognised)
    exercise_source: Literal["user", "auto"] = "auto"
    recognition_scores: dict[str, float] = Field(default_factory=dict)
    view: View = "unknown"
    view_confidence: float = 0.0
    view_details: dict[str, float] = Field(default_factory=dict)
    near_side: Literal["left", "right"] | None = None   # side view: the leg nearer the camera
    rep_count: int = 0             # complete reps/trials
    partial_rep_count: int = 0
    reps: list[Rep] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)          # clip-level flags
    asymmetry: list[Asymmetry] = Field(default_factory=list)
    summary: dict[str, MetricValue] = Field(default_factory=dict)
    unsupported_measures: list[UnsupportedMeasure] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    feedback: Feedback = Field(default_factory=Feedback)
    thresholds_overridden: list[str] = Field(default_factory=list)
    # distance scale of mSEBT reaches: {"reach": "marker" | "leg_length" | "image_leg",
    # "marker": FloorScale.to_dict() or None}; empty for other exercises
    scale: dict = Field(default_factory=dict)

    def all_flags(self) -> list[Flag]:
        return [f for r in self.reps for f in r.flags] + list(self.flags)
