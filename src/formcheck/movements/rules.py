"""Compensation flags. Every cut-off comes from thresholds.toml; every flag carries the measured
value, the threshold, the unit, the evidence level and source, and a plain-language cue."""

from __future__ import annotations

from collections import defaultdict
from typing import TypeGuard

import numpy as np

from formcheck.labels import ATHLETE_SENTENCE_UNITS, flag_value_text, metric_label
from formcheck.movements.report import Asymmetry, Flag, Rep, UnsupportedMeasure, metric_number
from formcheck.movements.segment import SHALLOW
from formcheck.movements.thresholds import ThresholdEntry, Thresholds

TRUNK_LEAN_KEY = {"lunge": "trunk_lean_lunge", "squat": "trunk_lean_squat",
                  "single_leg_squat": "trunk_lean_squat", "step_up": "trunk_lean_step_up",
                  "sebt": "trunk_lean_sebt"}


def fmt(v: float, unit: str) -> str:
    """A flag's value or cut-off in its sentence ('45.0 % of leg length'), by labels' one formatter."""
    return flag_value_text(float(v), unit, ATHLETE_SENTENCE_UNITS)


def make_flag(code: str, th: ThresholdEntry, value: float, *, rep: Rep | None = None,
              side: str | None = None, context: str = "") -> Flag:
    cmp = ">" if th.direction == "above" else "<"
    basis = ("coaching default (no published cut-off)" if th.evidence == "coaching default"
             else f"published: {th.source}")
    where = f"rep {rep.index} ({rep.side})" if rep is not None else (side or "clip")
    detail = (f"{th.label}{' ' + context if context else ''}, {where}: {fmt(value, th.unit)} "
              f"{cmp} {fmt(th.value, th.unit)}; threshold basis: {basis}"
              + (f"; population: {th.population}" if th.population and th.evidence == "published" else ""))
    return Flag(code=code, label=th.label, rep_index=rep.index if rep is not None else None,
                side=(rep.side if rep is not None else side), value=round(float(value), 3),
                threshold=th.value, unit=th.unit, direction=th.direction, evidence=th.evidence,
                source=th.source, population=th.population, cue=th.cue, detail=detail)


def _applies(th: ThresholdEntry | None, family: str) -> TypeGuard[ThresholdEntry]:
    return th is not None and (not th.applies_to or family in th.applies_to)


def _check(th: Thresholds, code: str, family: str, value, rep: Rep | None = None,
           side: str | None = None, context: str = "") -> Flag | None:
    entry = th.get(code)
    if not _applies(entry, family) or value is None or isinstance(value, (bool, str)):
        return None
    if not np.isfinite(value) or not entry.exceeded(float(value)):
        return None
    return make_flag(code, entry, float(value), rep=rep, side=side, context=context)


def sebt_validity(th: Thresholds, rep: Rep) -> list[str]:
    m = rep.metrics
    inv = th.get("sebt_trial_invalid")
    heel = th.get("heel_lift")
    faults = []
    heel_limit = inv.extra("stance_heel_lift_deg", 8.0) if inv else (heel.value if heel else None)
    heel_lift = metric_number(m.get("stance_heel_lift_deg"))
    if heel_limit is not None and heel_lift is not None and heel_lift > heel_limit:
        faults.append("stance heel lifted")
    down = metric_number(m.get("reach_foot_down_s"))
    unload = metric_number(m.get("stance_knee_unload_deg"))
    if inv and down is not None and (
            down > inv.extra("max_reach_foot_down_s", 1.5)
            or (down >= inv.extra("min_touch_s", 0.25) and unload is not None
                and unload >= inv.extra("unload_deg", 5.0))):
        faults.append("reach foot rested on the floor (took weight)")
    shift = metric_number(m.get("stance_foot_shift_leg"))
    if inv and shift is not None and shift > inv.extra("max_stance_shift_leg", 0.15):
        faults.append("stance foot moved (loss of balance)")
    if m.get("returned") is False:
        faults.append("no controlled return to the start position")
    elif inv and (back := metric_number(m.get("return_s"))) is not None and back < inv.extra("min_return_s", 0.3):
        faults.append("return too fast (not controlled)")
    return faults


def rep_flags(th: Thresholds, family: str, rep: Rep, variant: dict, excursion_pct: float | None) -> list[Flag]:
    m = rep.metrics
    out: list[Flag | None] = []
    if not rep.complete:
        # a partial rep is not the movement the cut-offs describe: only its shallowness is flagged
        e = th.get("partial_rep")
        if rep.partial_reason == SHALLOW and excursion_pct is not None and _applies(e, family):
            return [make_flag("partial_rep", e, excursion_pct, rep=rep)]
        return []
    kd_code = "knee_dominant_ratio_sebt" if family == "sebt" else "knee_dominant_ratio"
    kd = th.get(kd_code)
    knee = metric_number(m.get("knee_flexion_at_reach_deg") if family == "sebt" else m.get("peak_knee_flexion_deg"))
    if kd and knee is not None and knee >= kd.extra("min_knee_flexion_deg", 40.0):
        if family != "sebt" or rep.direction == "anterior":
            ctx = "at maximal anterior reach" if family == "sebt" else ""
            out.append(_check(th, kd_code, family, m.get("hip_knee_ratio"), rep, context=ctx))
    out.append(_check(th, "knee_valgus_fppa", family, m.get("peak_knee_fppa_deg"), rep))
    if family != "squat":
        out.append(_check(th, "pelvic_drop", family, m.get("peak_contralateral_pelvic_drop_deg"), rep))
    trunk_val = m.get("trunk_lean_at_reach_deg") if family == "sebt" else m.get("peak_trunk_lean_deg")
    out.append(_check(th, TRUNK_LEAN_KEY.get(family, ""), family, trunk_val, rep))
    out.append(_check(th, "trunk_shin_squat", family, m.get("trunk_minus_shin_deg"), rep))
    out.append(_check(th, "trunk_lateral_lean", family, m.get("peak_trunk_lateral_lean_deg"), rep))
    dfl = th.get("ankle_dorsiflexion_limited")
    # cross-check: with the foot flat the shin's tilt is the dorsiflexion, so a shin tilted past the
    # cut-off (or not measured) means the low reading is the foot landmarks, not the ankle
    peak_knee = metric_number(m.get("peak_knee_flexion_deg"))
    if (dfl and peak_knee is not None and peak_knee >= dfl.extra("min_knee_flexion_deg", 60.0)
            and dfl.exceeded(metric_number(m.get("shank_inclination_bottom_deg")))):
        out.append(_check(th, "ankle_dorsiflexion_limited", family, m.get("ankle_dorsiflexion_bottom_deg"), rep))
    if family != "sebt":
        out.append(_check(th, "heel_lift", family, m.get("heel_lift_deg"), rep))
    if family == "lunge" and rep.direction != "lateral":
        out.append(_check(th, "shallow_depth_lunge", family, m.get("peak_knee_flexion_deg"), rep))
    if variant.get("knee_drive"):
        out.append(_check(th, "knee_drive_low", family, m.get("knee_drive_hip_flexion_deg"), rep))
    if family == "sebt":
        faults = sebt_validity(th, rep)
        m["valid"] = not faults
        m["invalid_reasons"] = "; ".join(faults) if faults else None
        e = th.get("sebt_trial_invalid")
        if faults and e:
            out.append(make_flag("sebt_trial_invalid", e, float(len(faults)), rep=rep,
                                 context="(" + "; ".join(faults) + ")"))
    return [f for f in out if f is not None]


def _usable(rep: Rep) -> bool:
    return rep.complete and rep.metrics.get("valid", True) is not False


def min_reps_per_side(th: Thresholds) -> int:
    """Complete reps each side needs before the sides are compared (thresholds.toml, asymmetry_pct)."""
    entry = th.get("asymmetry_pct")
    return int(entry.extra("min_reps_per_side", 2)) if entry else 2


def asymmetry(th: Thresholds, family: str, reps: list[Rep],
              metrics: list[tuple[str, str]]) -> tuple[list[Asymmetry], list[Flag]]:
    """Left vs right per metric, from complete reps only, where each side has `min_reps_per_side`."""
    entry = th.get("asymmetry_pct")
    rows, flags = [], []
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for rep in filter(_usable, reps):
        for key, _unit in metrics:
            name = f"{key}[{rep.direction}]" if family == "sebt" else key
            if rep.side == "both":
                for s in ("left", "right"):
                    v = rep.metrics.get(f"{s}_{key}")
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        groups[name][s].append(float(v))
            else:
                v = rep.metrics.get(key)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    groups[name][rep.side].append(float(v))
    units = {(f"{k}[{r.direction}]" if family == "sebt" else k): u for r in reps for k, u in metrics}
    least = min_reps_per_side(th)
    for name, by in groups.items():
        if len(by.get("left", ())) < least or len(by.get("right", ())) < least:
            continue
        best = max if family == "sebt" and name.startswith("reach") else np.mean
        lv, rv = float(best(by["left"])), float(best(by["right"]))
        den = max(abs(lv), abs(rv))
        if den < 1e-6:
            continue
        pct = abs(lv - rv) / den * 100
        unit = units.get(name, "deg")
        rows.append(Asymmetry(metric=name, left=round(lv, 2), right=round(rv, 2), unit=unit,
                              abs_diff=round(abs(lv - rv), 2), pct_diff=round(pct, 1)))
        if (_applies(entry, family) and entry.exceeded(pct)
                and (unit != "deg" or abs(lv - rv) >= entry.extra("min_abs_deg", 8.0))):
            weaker = "left" if lv < rv else "right"
            flags.append(make_flag("asymmetry_pct", entry, pct, side=weaker,
                                   context=f"in {metric_label(name).lower()} (left {fmt(lv, unit)}, "
                                           f"right {fmt(rv, unit)})"))
    return rows, flags


def sebt_clip(th: Thresholds, reps: list[Rep], leg_length_cm: dict[str, float] | None
              ) -> tuple[list[Flag], list[UnsupportedMeasure], dict]:
    flags: list[Flag] = []
    unsupported: list[UnsupportedMeasure] = []
    summary: dict = {}
    best: dict[str, dict[str, float]] = defaultdict(dict)
    for rep in filter(_usable, reps):
        v = rep.metrics.get("reach_pct_leg")
        if v is None or rep.direction not in ("anterior", "posteromedial", "posterolateral"):
            continue
        best[rep.side][rep.direction] = max(best[rep.side].get(rep.direction, -1e9), float(v))
    for side, d in best.items():
        for direction, v in d.items():
            summary[f"{side}_{direction}_best_reach_pct_leg"] = round(v, 1)
    # anterior asymmetry in cm (Plisky 2006)
    ant_left, ant_right = best["left"].get("anterior"), best["right"].get("anterior")
    if ant_left is not None and ant_right is not None:
        if leg_length_cm and all(leg_length_cm.get(s) for s in ("left", "right")):
            cm = {"left": ant_left / 100 * leg_length_cm["left"], "right": ant_right / 100 * leg_length_cm["right"]}
            diff = abs(cm["left"] - cm["right"])
            summary["anterior_reach_diff_cm"] = round(diff, 1)
            weaker = "left" if cm["left"] < cm["right"] else "right"
            f = _check(th, "sebt_anterior_asymmetry_cm", "sebt", diff, side=weaker,
                       context=f"(left {cm['left']:.1f} cm, right {cm['right']:.1f} cm)")
            if f:
                flags.append(f)
        else:
            unsupported.append(UnsupportedMeasure(
                measure="sebt_anterior_asymmetry_cm",
                reason="the published cut-off (> 4 cm) is in centimetres and the leg length is unknown",
                advice="Enter each leg's length (ASIS to the inside ankle bone, in cm) to get the "
                       "anterior reach difference in centimetres."))
    # composite (mean of the three directions, % leg length)
    for side in ("left", "right"):
        d = best.get(side, {})
        if all(k in d for k in ("anterior", "posteromedial", "posterolateral")):
            comp = float(np.mean([d["anterior"], d["posteromedial"], d["posterolateral"]]))
            summary[f"{side}_composite_pct_leg"] = round(comp, 1)
            for code in ("sebt_composite_female_hs_basketball", "sebt_composite_male_college_football"):
                f = _check(th, code, "sebt", comp, side=side, context="(composite)")
                if f:
                    flags.append(f)
        elif d:
            summary[f"{side}_composite_pct_leg"] = None
    return flags, unsupported, summary


def consistency(th: Thresholds, family: str, reps: list[Rep], key: str) -> list[Flag]:
    entry = th.get("inconsistent_reps")
    if not _applies(entry, family):
        return []
    groups: dict[tuple, list[float]] = defaultdict(list)
    for rep in filter(_usable, reps):
        v = rep.metrics.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            groups[(rep.side, rep.direction if family == "sebt" else None)].append(float(v))
    out = []
    for (side, direction), vals in groups.items():
        if len(vals) < entry.extra("min_reps", 3) or abs(np.mean(vals)) < 1e-6:
            continue
        cv = float(np.std(vals, ddof=1) / abs(np.mean(vals)) * 100)
        if entry.exceeded(cv):
            ctx = f"of {metric_label(key).lower()}" + (f" ({direction})" if direction else "")
            out.append(make_flag("inconsistent_reps", entry, cv, side=side, context=ctx))
    return out
