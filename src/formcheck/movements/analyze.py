"""Entry point: PoseSeries + AngleSeries in, MovementReport out."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

from formcheck.kinematics.scale import FloorScale
from formcheck.movements import exercises as ex_registry
from formcheck.movements.context import ADVICE, MEASURE_TEXT, MovementContext, estimate_view
from formcheck.movements.exercises.base import BaseExercise
from formcheck.movements.feedback import count, fill_feedback
from formcheck.movements.recognize import FAMILY_DEFAULT, Recognition, recognize, refine_variant
from formcheck.movements.report import MovementReport, Rep, UnsupportedMeasure, metric_number
from formcheck.movements.rules import asymmetry, consistency, min_reps_per_side, rep_flags
from formcheck.movements.segment import SHALLOW, segment, whole_median
from formcheck.movements.thresholds import Thresholds, load_thresholds
from formcheck.series import AngleSeries, PoseSeries

VIEW_NAME = {"side": "a side view", "front": "a front or back view"}


def unsupported_for(ctx: MovementContext, measures: list[str]) -> list[UnsupportedMeasure]:
    out = []
    view = ctx.view.view
    for meas in measures:
        src = ctx.measure_source(meas)
        text, need = MEASURE_TEXT.get(meas, (meas, "side"))
        if src is None:
            reason = (f"filmed from {'an unknown' if view == 'unknown' else 'a ' + view} view; "
                      f"this measure is only valid from {VIEW_NAME[need]}")
            out.append(UnsupportedMeasure(measure=meas, reason=reason,
                                          advice=f"{text} needs {VIEW_NAME[need]}: {ADVICE[need]}."))
    if ctx.measure_source("hip_flexion") is None and "hip_flexion" in measures:
        text, need = MEASURE_TEXT["hip_knee_ratio"]
        out.append(UnsupportedMeasure(measure="hip_knee_ratio",
                                      reason="needs hip flexion, which this view cannot measure",
                                      advice=f"{text} needs {VIEW_NAME[need]}: {ADVICE[need]}."))
    return out


def analyze_movement(pose: PoseSeries, angles: AngleSeries, exercise: str = "auto",
                     thresholds: Thresholds | None = None,
                     leg_length_cm: dict[str, float] | None = None,
                     floor_scale: FloorScale | None = None) -> MovementReport:
    """Recognise (or take) the exercise, split it into reps, measure each rep and flag compensations.

    exercise: "auto", a registry name (see movements/exercises.toml) or an alias ("lunge", "sebt" ...).
    thresholds: from `load_thresholds(override)`; default thresholds.toml.
    leg_length_cm: {"left": cm, "right": cm}, ASIS to medial malleolus; enables reach in cm.
    floor_scale: a printed floor marker (`kinematics.scale`); mSEBT reach in cm from the floor plane.
    """
    with warnings.catch_warnings():
        # all-NaN stretches (no person in frame) are expected; they become gaps, not warnings
        warnings.simplefilter("ignore", RuntimeWarning)
        return _analyze(pose, angles, exercise, thresholds, leg_length_cm, floor_scale)


FAMILY_TEXT = {"squat": "squat", "single_leg_squat": "single-leg squat", "lunge": "lunge", "step_up": "step-up",
               "sebt": "mSEBT reach"}


def unknown_note(rec: Recognition | None) -> str:
    """What to do when no known exercise was recognised (the feedback lists the known names)."""
    closest = (f" It looked most like a {FAMILY_TEXT[rec.closest]}, too uncertain to check form."
               if rec is not None and rec.closest else "")
    return ("None of the known exercises was recognised clearly, so no reps or cues are given."
            f"{closest} Choose the exercise by hand: `formcheck analyze VIDEO --exercise NAME` (`formcheck "
            "analyze --help` lists the names), or the Exercise menu of the upload page; or film the whole body "
            "doing several reps.")


# Single-leg work filmed from the side: the working leg should be the one nearer the camera.
WORKING_LEG = {"sebt": ("stance", "trials"), "single_leg_squat": ("standing", "reps"),
               "step_up": ("stepping", "reps")}


def far_leg_note(ctx: MovementContext, family: str, reps: list[Rep]) -> str | None:
    """Say so when the working leg was the far one: the near leg hides it (rendered side views:
    its knee visibility 0.4-0.7 against 0.9-1.0 near), and in the mSEBT its toe vanishes behind
    the reaching foot while the feet are together (rendered: no toe point in most rest frames),
    where the reach's starting point is read."""
    if family not in WORKING_LEG or ctx.near_side is None:
        return None
    far = [r for r in reps if r.side in ("left", "right") and r.side != ctx.near_side]
    if not far:
        return None
    role, unit = WORKING_LEG[family]
    what = "its angles and the reach's starting point are" if family == "sebt" else "its angles are"
    return (f"The {role} leg ({far[0].side}) was the one farther from the camera in {len(far)} of {len(reps)} "
            f"{unit}: the nearer leg hides it, so {what} less certain. Film with the {role} leg nearest "
            "the camera (turn around for the other leg).")


@dataclass
class _Choice:
    """The exercise a clip is analysed as, and how it was chosen."""

    family: str
    name: str
    confidence: float
    source: str                      # "auto" (recognised) or "user"
    auto_variant: bool               # the variant is read from the reps
    notes: list[str]


def _choose(key: str, rec: Recognition | None) -> _Choice | None:
    """The resolved name (`exercises.resolve`) against the recognition; None when "auto" recognised nothing."""
    specs = ex_registry.registry()
    if key == "auto":
        if rec is None or rec.family == "unknown":
            return None
        assert rec.confidence is not None  # None only for "unknown"
        return _Choice(rec.family, rec.exercise, rec.confidence, "auto", True, [])
    if key in specs:
        name, auto_variant = key, False
    else:
        fam = ex_registry.aliases()[key]
        name, auto_variant = FAMILY_DEFAULT[fam], True
        if fam == "lunge" and rec is not None and rec.exercise == "lateral_lunge":
            name = "lateral_lunge"
    family = specs[name].family
    notes = []
    if rec is not None and rec.family not in ("unknown", family):
        notes.append(f"You chose {specs[name].label}, but the movement looks more like "
                     f"{rec.family.replace('_', ' ')} (score {rec.scores.get(rec.family, 0):.2f}).")
    return _Choice(family, name, 1.0, "user", auto_variant, notes)


def _reps(ctx: MovementContext, th: Thresholds, choice: _Choice,
          notes: list[str]) -> tuple[BaseExercise, list[Rep]]:
    """Segment the clip with the exercise's driver, measure each rep, flag it; the exercise is
    the variant the reps show when it is read from them."""
    ex = ex_registry.create(choice.name)
    params = ex.params(ctx)
    segs = segment(ctx.t, ex.driver(ctx), params)
    results = []
    for s in segs:
        results.append(ex.analyse_rep(ctx, s))
        ex.prev_end = s.end          # modules may look back to the previous rep
    if choice.auto_variant:
        choice.name = refine_variant(choice.family, choice.name, [r for r in results if not r.not_a_rep])
        if choice.name != ex.spec.name:
            ex = ex_registry.create(choice.name)
    ex.screen_reps(results)
    # movements without the exercise's pattern (walking in, a set-up step) are not reps
    not_reps = [(s, r) for s, r in zip(segs, results) if r.not_a_rep]
    if not_reps:
        notes.append(f"Not counted as {ex.rep_word}s: " + "; ".join(
            f"{ctx.t[s.start]:.1f}-{ctx.t[s.end]:.1f} s ({r.not_a_rep})" for s, r in not_reps) + ".")
        kept = [(s, r) for s, r in zip(segs, results) if not r.not_a_rep]
        segs, results = [s for s, _ in kept], [r for _, r in kept]
    ex.mark_partial(segs, params.partial_frac)
    med_exc = whole_median(segs)

    reps: list[Rep] = []
    for i, (s, r) in enumerate(zip(segs, results), start=1):
        rep = Rep(index=i, side=r.side, start_s=round(float(ctx.t[s.start]), 3),
                  bottom_s=round(float(ctx.t[r.bottom]), 3), end_s=round(float(ctx.t[s.end]), 3),
                  complete=s.complete, partial_reason=s.partial_reason, direction=ex.rep_direction(r),
                  events=r.events, metrics=r.metrics)
        excursion_pct = round(float(100 * s.excursion / med_exc), 1) if med_exc > 0 else None
        rep.metrics["excursion_pct_of_median"] = excursion_pct
        rep.flags = rep_flags(th, choice.family, rep, ex.variant, excursion_pct)
        reps.append(rep)
    return ex, reps


def _view_and_rep_notes(ctx: MovementContext, th: Thresholds, ex: BaseExercise, reps: list[Rep]) -> list[str]:
    """What to keep in mind reading the reps: the view's limits, the far leg, partial reps, too few per side."""
    notes = []
    if ctx.view.view in ("frontal", "oblique") and ctx.measure_source("knee_flexion") == "3d":
        notes.append("Knee flexion and depth come from MediaPipe's 3D world landmarks in this view "
                     "(less accurate than a side view).")
    if ctx.view.view == "oblique":
        notes.append("The camera is at an angle to the body: sagittal angles are 3D estimates and "
                     "frontal-plane measures (valgus, pelvic drop) are not reported.")
    far_leg = far_leg_note(ctx, ex.family, reps)
    if far_leg:
        notes.append(far_leg)
    partial = [r for r in reps if not r.complete]
    if partial:
        why: dict[str | None, str] = {SHALLOW: f"shallow: depth below {th['partial_rep'].value:g} % of the median rep"}
        reasons = "; ".join(f"{n} {why.get(k, k)}" for k, n in Counter(r.partial_reason for r in partial).items())
        notes.append(f"{count(len(partial), 'partial rep')} ({reasons}): listed, but no flags from them "
                     "and left out of averages and left/right comparisons.")
    sided = Counter(r.side for r in reps if r.complete and r.side in ("left", "right"))
    least = min_reps_per_side(th)
    if sided["left"] and sided["right"] and min(sided.values()) < least and ex.notes_reps_per_side:
        notes.append(f"No left/right comparison: it needs at least {least} complete reps per side "
                     f"(left {sided['left']}, right {sided['right']}).")
    return notes


def _analyze(pose: PoseSeries, angles: AngleSeries, exercise: str, thresholds: Thresholds | None,
             leg_length_cm: dict[str, float] | None, floor_scale: FloorScale | None = None) -> MovementReport:
    """Resolve the exercise -> segment and measure the reps -> clip-level findings and notes."""
    th = thresholds or load_thresholds()
    ctx = MovementContext(pose, angles, estimate_view(pose, angles), floor_scale=floor_scale)
    key = ex_registry.resolve(exercise)  # an unknown name fails before any work
    rec = recognize(ctx) if len(ctx.t) else None
    choice = _choose(key, rec)
    if choice is None:
        # no confidence and no reps: a rep count or a cue for a guessed exercise would mislead
        report = MovementReport(exercise="unknown", recognition_scores=rec.scores if rec else {},
                                view=ctx.view.view, view_confidence=ctx.view.confidence,
                                view_details=ctx.view.details, notes=[unknown_note(rec)])
        return fill_feedback(report)
    notes = list(choice.notes)
    ex, reps = _reps(ctx, th, choice, notes)
    notes += ex.clip_notes(ctx, reps)

    asym_rows, asym_flags = asymmetry(th, choice.family, reps, ex.asymmetry_metrics())
    clip_flags = list(asym_flags) + consistency(th, choice.family, reps, ex.depth_metric())
    unsupported = unsupported_for(ctx, ex.spec.measures)
    findings = ex.clip_findings(ctx, th, reps, leg_length_cm)
    clip_flags += findings.flags
    unsupported += findings.unsupported
    summary = findings.summary
    notes += _view_and_rep_notes(ctx, th, ex, reps)

    complete = [r for r in reps if r.complete]
    for side in ("left", "right", "both"):
        n = sum(r.side == side for r in complete)
        if n:
            summary[f"{side}_reps"] = n
    depth_key = ex.depth_metric()
    for side in ("left", "right", "both"):
        vals = [v for r in complete if r.side == side if (v := metric_number(r.metrics.get(depth_key))) is not None]
        if vals:
            summary[f"{side}_mean_{depth_key}"] = round(float(np.mean(vals)), 1)

    report = MovementReport(
        exercise=choice.name, exercise_label=ex.spec.label, exercise_confidence=round(float(choice.confidence), 2),
        exercise_source=choice.source, recognition_scores=rec.scores if rec else {},
        view=ctx.view.view, view_confidence=ctx.view.confidence, view_details=ctx.view.details,
        near_side=ctx.near_side, rep_count=len(complete), partial_rep_count=len(reps) - len(complete), reps=reps,
        flags=clip_flags, asymmetry=asym_rows, summary=summary, unsupported_measures=unsupported, notes=notes,
        scale=findings.scale, thresholds_overridden=list(th.overridden))
    return fill_feedback(report)
