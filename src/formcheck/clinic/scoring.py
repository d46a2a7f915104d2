"""mSEBT scoring: pure numbers in, numbers out (no database, no video).

Per stance leg and reach direction the best *valid* trial counts. Reach is expressed in cm
and as % of limb length; composite = (anterior + posteromedial + posterolateral) / (3 × limb
length) × 100; the anterior left/right difference is in cm (Plisky et al. 2006). Flags use the
published cut-offs in `movements/thresholds.toml` (value, unit, population and source travel
with each flag), and every score carries a note on measurement error.

Scale, per trial (the result says which was used):
* `marker` / `tape`: the reach was measured in cm (a floor marker of known size in the video,
  or the clinician's tape); % of limb length then needs the athlete's measured leg length.
* `leg_length`: the video gives reach as a fraction of the subject's limb length in the image;
  cm = that fraction × the athlete's measured leg length (ASIS to medial malleolus).
* `image_limb`: neither is known: % of the limb length seen in the video only, no cm.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, Field

from formcheck import labels
from formcheck.movements.thresholds import ThresholdEntry, Thresholds, load_thresholds

Leg = Literal["left", "right"]
Direction = Literal["anterior", "posteromedial", "posterolateral"]
CmSource = Literal["marker", "tape"]
Scale = Literal["marker", "tape", "leg_length", "image_limb"]

LEGS: tuple[Leg, ...] = ("left", "right")
DIRECTIONS: tuple[Direction, ...] = ("anterior", "posteromedial", "posterolateral")

ANTERIOR_DIFF = "sebt_anterior_asymmetry_cm"
COMPOSITE_CUTOFFS = ("sebt_composite_female_hs_basketball", "sebt_composite_male_college_football")
SEM = "sebt_reach_sem_interrater_cm"

SCALE_TEXT = {
    "marker": "reach measured in cm from the floor marker in the video",
    "tape": "reach measured in cm by the clinician",
    "leg_length": "reach from the video as a share of the limb, scaled by the measured leg length",
    "image_limb": "reach as a share of the limb length seen in the video (no leg length, no marker: no cm)",
}


class Trial(BaseModel):
    """One reach: what the analysis (or the clinician) measured, before scoring."""

    leg: Leg = Field(description="Stance leg (the test is scored by the stance leg).")
    direction: Direction
    trial: int = Field(1, ge=1, description="1-based order within this leg and direction.")
    reach_pct_limb: float | None = Field(None, description="Reach as % of the limb length seen in the video.")
    reach_cm: float | None = Field(None, ge=0, description="Reach in cm, when measured (marker or tape).")
    cm_source: CmSource | None = Field(None, description="Where reach_cm comes from.")
    valid: bool = True
    invalid_reasons: list[str] = Field(default_factory=list)
    test_id: str | None = Field(None, description="The screening test (clip) this trial comes from.")
    rep_index: int | None = Field(None, description="Index of the rep in that clip's analysis.")


class ScoredTrial(Trial):
    pct_limb: float | None = Field(description="Reach as % of limb length used for scoring.")
    cm: float | None = Field(description="Reach in cm used for scoring (None when no scale is known).")
    scale: Scale | None = Field(description="How the reach was scaled (None: no usable reach).")
    best: bool = False


class DirectionScore(BaseModel):
    leg: Leg
    direction: Direction
    best_trial: int | None = Field(None, description="Trial number of the best valid trial.")
    reach_cm: float | None = None
    reach_pct_limb: float | None = None
    scale: Scale | None = None
    trials: list[ScoredTrial] = Field(default_factory=list)
    valid_trials: int = 0


class LegScore(BaseModel):
    leg: Leg
    limb_length_cm: float | None = Field(None, description="Measured leg length, ASIS to medial malleolus.")
    directions: dict[str, DirectionScore]
    composite_pct: float | None = Field(None, description="(A + PM + PL) / (3 × limb length) × 100.")
    composite_basis: str = Field("", description="Why the composite is missing, or which scale it uses.")


class ScoreFlag(BaseModel):
    """A cut-off crossed, with everything needed to judge it."""

    code: str
    label: str
    leg: Leg | None = None
    value: float
    threshold: float
    unit: str
    direction: Literal["above", "below"]
    evidence: str
    source: str
    population: str
    detail: str


class MeasurementError(BaseModel):
    sem_cm: dict[str, float] = Field(description="Inter-rater standard error of measurement per direction, cm.")
    source: str
    population: str
    note: str


class SebtScore(BaseModel):
    legs: dict[str, LegScore]
    anterior_diff_cm: float | None = Field(None, description="|left − right| best anterior reach, cm.")
    anterior_diff_pct_limb: float | None = Field(None, description="|left − right| best anterior reach, % limb.")
    flags: list[ScoreFlag] = Field(default_factory=list)
    scales: list[Scale] = Field(default_factory=list, description="Scales used by the best trials.")
    scale_note: str = ""
    measurement_error: MeasurementError
    notes: list[str] = Field(default_factory=list)


def _round(v: float | None, nd: int = 1) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, nd)


def scale_trial(trial: Trial, limb_length_cm: float | None) -> ScoredTrial:
    """Reach in cm and % of limb length from whichever scale this trial has."""
    L = limb_length_cm if limb_length_cm and limb_length_cm > 0 else None
    pct = cm = None
    scale: Scale | None = None
    if trial.reach_cm is not None and trial.cm_source is not None:
        cm, scale = trial.reach_cm, trial.cm_source
        pct = 100 * cm / L if L else trial.reach_pct_limb
    elif trial.reach_pct_limb is not None:
        pct = trial.reach_pct_limb
        cm, scale = (pct / 100 * L, "leg_length") if L else (None, "image_limb")
    return ScoredTrial(**trial.model_dump(), pct_limb=_round(pct, 2), cm=_round(cm, 2), scale=scale)


def best_trial(trials: Iterable[ScoredTrial]) -> ScoredTrial | None:
    """The valid trial with the longest reach (by % of limb; cm when no % is known)."""
    usable = [t for t in trials if t.valid and (t.pct_limb is not None or t.cm is not None)]
    if not usable:
        return None
    return max(usable, key=lambda t: (t.pct_limb if t.pct_limb is not None else -1.0, t.cm or 0.0, -t.trial))


def _flag(code: str, entry: ThresholdEntry, value: float, leg: Leg | None, what: str) -> ScoreFlag:
    sign = ">" if entry.direction == "above" else "<"
    unit = labels.unit_text(entry.unit, labels.CLINIC_SENTENCE_UNITS)
    return ScoreFlag(
        code=code, label=entry.label, leg=leg, value=round(value, 1), threshold=entry.value, unit=entry.unit,
        direction=entry.direction, evidence=entry.evidence, source=entry.source, population=entry.population,
        detail=f"{what} {value:.1f} {unit} {sign} {entry.value:g} {unit} "
               f"({entry.source}; population: {entry.population}).",
    )


def measurement_error(th: Thresholds) -> MeasurementError:
    e = th[SEM]
    sem = {"anterior": e.value, "posteromedial": e.extra("posteromedial_cm", float("nan")),
           "posterolateral": e.extra("posterolateral_cm", float("nan"))}
    return MeasurementError(
        sem_cm=sem, source=e.source, population=e.population,
        note=(f"Reach measured by different raters varies by about {sem['anterior']:g} cm (anterior), "
              f"{sem['posteromedial']:g} cm (posteromedial) and {sem['posterolateral']:g} cm (posterolateral) "
              f"(standard error of measurement, {e.source}); a left/right difference or a change between "
              "screenings of a few cm can be measurement noise."),
    )


def score_sebt(trials: Iterable[Trial], limb_length_cm: Mapping[str, float | None] | None = None,
               thresholds: Thresholds | None = None) -> SebtScore:
    """Score an mSEBT screening from its trials (any order; invalid ones are kept but not counted)."""
    th = thresholds or load_thresholds()
    lengths = {leg: (limb_length_cm or {}).get(leg) for leg in LEGS}
    scored = [scale_trial(t, lengths[t.leg]) for t in trials]
    legs: dict[str, LegScore] = {}
    scales: set[str] = set()
    for leg in LEGS:
        dirs: dict[str, DirectionScore] = {}
        for direction in DIRECTIONS:
            mine = sorted((t for t in scored if t.leg == leg and t.direction == direction), key=lambda t: t.trial)
            best = best_trial(mine)
            if best is not None:
                assert best.scale is not None  # a usable reach always has a scale (`scale_trial`)
                best.best = True
                scales.add(best.scale)
            dirs[direction] = DirectionScore(
                leg=leg, direction=direction, trials=mine, valid_trials=sum(t.valid for t in mine),
                best_trial=best.trial if best else None, reach_cm=best.cm if best else None,
                reach_pct_limb=best.pct_limb if best else None, scale=best.scale if best else None)
        legs[leg] = _leg_score(leg, lengths[leg], dirs)

    flags: list[ScoreFlag] = []
    notes: list[str] = []
    ant = {leg: legs[leg].directions["anterior"] for leg in LEGS}
    diff_cm = diff_pct = None
    left_cm, right_cm = ant["left"].reach_cm, ant["right"].reach_cm
    left_pct, right_pct = ant["left"].reach_pct_limb, ant["right"].reach_pct_limb
    if left_cm is not None and right_cm is not None:
        diff_cm = abs(left_cm - right_cm)
        entry = th.get(ANTERIOR_DIFF)
        if entry and entry.exceeded(diff_cm):
            shorter: Leg = "left" if left_cm < right_cm else "right"
            flags.append(_flag(ANTERIOR_DIFF, entry, diff_cm, shorter,
                               f"Anterior reach left {left_cm:.1f} cm, right {right_cm:.1f} cm: difference"))
    elif left_pct is not None and right_pct is not None:
        notes.append("Anterior left/right difference in cm needs the leg lengths or a floor marker; "
                     "the 4 cm cut-off (Plisky 2006) was not applied.")
    if left_pct is not None and right_pct is not None:
        diff_pct = abs(left_pct - right_pct)
    for leg in LEGS:
        comp = legs[leg].composite_pct
        if comp is None:
            continue
        for code in COMPOSITE_CUTOFFS:
            entry = th.get(code)
            if entry and entry.exceeded(comp):
                flags.append(_flag(code, entry, comp, leg, f"{leg.capitalize()} composite"))
    used = sorted(scales)
    return SebtScore(
        legs=legs, anterior_diff_cm=_round(diff_cm), anterior_diff_pct_limb=_round(diff_pct), flags=flags,
        scales=used, scale_note="; ".join(SCALE_TEXT[s] for s in used), measurement_error=measurement_error(th),
        notes=notes,
    )


def _leg_score(leg: Leg, L: float | None, dirs: dict[str, DirectionScore]) -> LegScore:
    best = [dirs[d] for d in DIRECTIONS]
    missing = [d.direction for d in best if d.reach_pct_limb is None and d.reach_cm is None]
    if missing:
        return LegScore(leg=leg, limb_length_cm=L, directions=dirs,
                        composite_basis="no valid trial for " + ", ".join(missing))
    cms = [d.reach_cm for d in best if d.reach_cm is not None]
    pcts = [d.reach_pct_limb for d in best if d.reach_pct_limb is not None]
    if L and len(cms) == len(best):
        comp = sum(cms) / (3 * L) * 100
        basis = f"(A + PM + PL) / (3 × {L:g} cm) × 100"
    elif len(pcts) == len(best):
        comp = sum(pcts) / 3
        basis = "mean of the three reaches as % of the limb length seen in the video (no leg length)"
    else:
        return LegScore(leg=leg, limb_length_cm=L, directions=dirs,
                        composite_basis="reaches in cm without a leg length: enter the leg length")
    return LegScore(leg=leg, limb_length_cm=L, directions=dirs, composite_pct=_round(comp, 1), composite_basis=basis)
