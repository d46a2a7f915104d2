"""Lunges: forward, reverse, walking, lateral, split squat, runner's lunge (knee drive, overhead press).

Working side = the front (loaded) leg; for a lateral lunge the leg that bends.

The variant is read from the feet on the floor, around each rep (`foot_pattern`): split squat =
the feet stay apart and planted between reps; forward / reverse = from the feet together one
foot steps out (in front / behind) and comes back; walking = the feet come together again at
the stepping foot (the body travelled); lateral = the foot steps sideways. A knee bend without
a split stance on both feet (walking in, a set-up shuffle, marching) is not a lunge rep.
"""

from __future__ import annotations

import numpy as np

from formcheck.movements.context import MovementContext, other
from formcheck.movements.exercises.base import BaseExercise, RepResult
from formcheck.movements.exercises.squat import knee_driver
from formcheck.movements.feet import (
    FOOT_LIFT_MAX,
    REACH_KNEE_LEAD,
    feet_apart,
    feet_at,
    feet_travel,
    foot_lift,
    moved_min,
)
from formcheck.movements.metrics import hip_drop, loaded_leg_metrics, tempo
from formcheck.movements.report import Rep
from formcheck.movements.segment import Segment, SegmentParams
from formcheck.movements.signals import at, clean, nanmax, nanmin, nanpct

KNEE_DRIVE_HIP_DEG = 60.0     # free-leg hip flexion that counts as a knee drive
KNEE_DRIVE_HEIGHT = 0.80      # or free knee at >= 80 % of leg length above the floor
# Feet apart at the bottom, leg lengths. Both knees near 90 deg put the feet about a leg length
# apart (front shin and rear thigh near vertical); half of that is the least stance a lunge
# bends in. Front/oblique views: the step runs in depth, which MediaPipe's world landmarks show
# at about half, plus the hip-width lateral offset (~0.25): sqrt(0.25^2 + 0.25^2) = 0.35. Feet
# side by side (walking in place, marching) stay below both.
SPLIT_STANCE_MIN = 0.5
SPLIT_STANCE_MIN_FRONT = 0.35
# The stance at the bottom is read as this percentile over the bottom's frames: a few frames
# where the pose model collapses both legs onto one place must not hide a split stance.
BOTTOM_STANCE_PCT = 75
REST_SEARCH_S = 2.0           # how far around a rep the feet-together (or planted) stance is sought


def front_leg(ctx: MovementContext, i: int) -> tuple[str, float]:
    """(side, confidence) of the front leg at frame i from hip flexion, heel height, foot offset."""
    votes = 0.0
    hl, hr = at(ctx.angle("hip_flexion", "left"), i, 2), at(ctx.angle("hip_flexion", "right"), i, 2)
    if np.isfinite(hl) and np.isfinite(hr):
        votes += 2.0 * np.clip((hl - hr) / 30.0, -1, 1)
    el, er = at(ctx.heel_height("left"), i, 2), at(ctx.heel_height("right"), i, 2)
    if np.isfinite(el) and np.isfinite(er):
        votes += np.clip((er - el) / 0.05, -1, 1)        # rear heel is up
    off = at(ctx.foot_offset("left", "right")["anterior"], i, 2)
    if np.isfinite(off):
        votes += np.clip(off / 0.3, -1, 1)
    return ("left" if votes >= 0 else "right"), float(min(abs(votes) / 2.0, 1.0))


def closest_feet(d: np.ndarray, lo: int, hi: int) -> int | None:
    """Frame in [lo, hi] with the feet closest together; None if none was seen."""
    w = d[max(lo, 0):hi + 1]
    if hi < lo or not np.isfinite(w).any():
        return None
    return max(lo, 0) + int(np.nanargmin(w))


def reached(ctx: MovementContext, d: np.ndarray, before: int, seg: Segment, d_bot: float) -> bool:
    """The knees were already near their deepest when the feet got wide (REACH_KNEE_LEAD)."""
    kmax = np.fmax(ctx.angle("knee_flexion", "left", allow_any=True),
                   ctx.angle("knee_flexion", "right", allow_any=True))
    with np.errstate(invalid="ignore"):
        wide = np.flatnonzero(d[before:seg.peak + 1] >= 0.8 * d_bot)
    k0, pk = kmax[before], nanmax(kmax[before:seg.end + 1])
    if not wide.size or not (np.isfinite(k0) and pk - k0 > 15.0):   # as recognize.knee_lead: too little bend to say
        return False
    return bool((kmax[before + wide[0]] - k0) / (pk - k0) > REACH_KNEE_LEAD)


def foot_pattern(ctx: MovementContext, seg: Segment, prev_end: int) -> tuple[str | None, str | None, dict]:
    """(direction, fault, numbers) of one lunge rep, from the feet on the floor.

    direction: "static" (split squat), "forward", "reverse", "walking", "lateral" or None (not
    seen). fault: why it is not a lunge rep (no split stance at the bottom, a foot off the floor)."""
    n = len(ctx.t)
    dt = float(np.median(np.diff(ctx.t))) if n > 1 else 0.033
    side_view = ctx.view.view == "sagittal"
    least_step = moved_min(ctx)
    d = feet_apart(ctx)
    bottom = slice(seg.plateau_start, seg.plateau_end + 1)
    d_bot = nanpct(d[bottom], BOTTOM_STANCE_PCT)
    reach = int(REST_SEARCH_S / dt)
    # the stance just before and after the rep; none where the rep runs into the clip's edge
    before = closest_feet(d, max(prev_end, seg.start - reach), seg.start) if seg.start > 0 else None
    after = closest_feet(d, seg.end, min(seg.end + reach, n - 1)) if seg.end < n - 1 else None
    nums = {"stance_length_leg": clean(d_bot, 2)}
    if not np.isfinite(d_bot):
        return None, None, nums
    if d_bot < (SPLIT_STANCE_MIN if side_view else SPLIT_STANCE_MIN_FRONT):
        return None, "the feet were not apart in a split stance at the bottom", nums
    rest = [i for i in (before, after) if i is not None]
    lift = foot_lift(ctx, bottom, rest)
    nums["foot_lift_leg"] = clean(lift, 2)
    if lift > FOOT_LIFT_MAX:
        return None, "a foot was off the floor at the bottom (not both feet on their support)", nums
    offs = ctx.foot_offset("left", "right")
    ant, lat = abs(at(offs["anterior"], seg.peak, 2)), abs(at(offs["lateral"], seg.peak, 2))
    sideways = bool(np.isfinite(lat) and np.isfinite(ant) and lat > 1.5 * ant and lat > 0.5)
    # between reps the feet come together (stepping lunges) or stay apart (split squat; wide
    # sideways: a lateral lunge from a wide stance); a step into or out of the split stance on
    # one side only is setting up, not part of the rep
    together = [d[i] <= d_bot - least_step for i in rest]
    planted = "lateral" if sideways else "static"
    if not together:
        return None, None, nums
    if not all(together):
        return planted, None, nums
    tr = feet_travel(ctx, rest[0], seg.peak)  # the stance before the rep, else the one after it
    moving = max(tr, key=lambda foot: tr[foot])
    nums["foot_travel_leg"] = clean(tr[moving], 2)
    if tr[moving] < least_step:
        return planted, None, nums
    if before is not None and side_view and reached(ctx, d, before, seg, d_bot):
        return None, "the foot reached out of a single-leg squat without stepping (an mSEBT reach, not a lunge)", nums
    if sideways:
        return "lateral", None, nums
    if after is not None:
        # walking: the feet meet again where the stepping foot landed (the body travelled there)
        pb, pa = feet_at(ctx, seg.peak), feet_at(ctx, after)
        meet = (pa["left"] + pa["right"]) / 2
        if np.linalg.norm(meet - pb[moving]) < np.linalg.norm(meet - pb[other(moving)]):
            return "walking", None, nums
    side, _ = front_leg(ctx, seg.peak)
    return ("forward" if moving == side else "reverse"), None, nums


def set_up_steps(observed: list[str | None], variant: str | None) -> list[bool]:
    """Which reps' feet contradict the clip's variant while more reps follow it: the body
    travelling in a lunge done on the spot (walking in or out, a walk-out from a rack), or the feet
    coming together around a rep of a split squat, is setting up, not a rep. Without such a
    majority nothing is dropped (the variant may be what was misread)."""
    def conflicts(d: str | None) -> bool:
        return d is not None and ((d == "walking" and variant != "walking")
                                  or (variant == "static" and d in ("forward", "reverse", "walking")))
    bad = [conflicts(d) for d in observed]
    return bad if sum(bad) < sum(d == variant for d in observed) else [False] * len(observed)


class Exercise(BaseExercise):
    default_params = SegmentParams(min_range=30.0)

    def driver(self, ctx: MovementContext) -> np.ndarray:
        # Both knees bend in a split-stance lunge; only one bends in a knee drive or a lateral
        # lunge. The less-bent knee therefore drives the reps (a knee drive adds none), except
        # for the lateral lunge whose trailing leg stays straight.
        if self.variant.get("direction") == "lateral":
            return knee_driver(ctx, "max")
        return knee_driver(ctx, "min")

    def pattern_fault(self, ctx: MovementContext, seg: Segment) -> str | None:
        return foot_pattern(ctx, seg, self.prev_end)[1]

    def screen_reps(self, results: list[RepResult]) -> None:
        observed = [None if r.not_a_rep else r.direction for r in results]
        for r, setup in zip(results, set_up_steps(observed, self.variant.get("direction"))):
            if setup:
                r.not_a_rep = ("the body travelled: a walking step, walking in or out" if r.direction == "walking"
                               else "the feet came together around it: a step, not a split-squat rep")

    def rep_direction(self, result: RepResult) -> str | None:
        """The clip's variant; what the feet did in this rep stays in its foot_pattern metric."""
        return self.variant.get("direction")

    def clip_notes(self, ctx: MovementContext, reps: list[Rep]) -> list[str]:
        other_feet = [r for r in reps if r.metrics.get("foot_pattern") not in (None, self.variant.get("direction"))]
        if not other_feet:
            return []
        patterns = ", ".join(sorted({str(r.metrics["foot_pattern"]) for r in other_feet}))
        return [f"In {len(other_feet)} of {len(reps)} reps the feet did not move as in a "
                f"{self.spec.label.lower()} ({patterns})."]

    def analyse_rep(self, ctx: MovementContext, seg: Segment) -> RepResult:
        b = seg.peak
        n = len(ctx.t)
        observed, fault, nums = foot_pattern(ctx, seg, self.prev_end)
        declared = self.variant.get("direction")
        if declared == "lateral" or (declared is None and observed == "lateral"):
            kl, kr = at(ctx.angle("knee_flexion", "left", allow_any=True), b, 2), at(
                ctx.angle("knee_flexion", "right", allow_any=True), b, 2)
            side, conf = ("left" if np.nan_to_num(kl) >= np.nan_to_num(kr) else "right"), 0.8
        else:
            side, conf = front_leg(ctx, b)
        rear = other(side)
        m = loaded_leg_metrics(ctx, side, seg, b)
        m["side_confidence"] = clean(conf, 2)
        m["rear_knee_flexion_deg"] = clean(nanmax(ctx.angle("knee_flexion", rear)[seg.start:seg.end + 1]))
        rh = nanmin(ctx.angle("hip_flexion", rear)[seg.start:seg.end + 1])
        m["rear_hip_extension_deg"] = clean(-rh if np.isfinite(rh) else float("nan"))
        m.update(nums)
        m["foot_pattern"] = observed
        m.update(tempo(ctx, seg))
        m["hip_drop_pct_leg"] = clean(hip_drop(ctx, seg))
        # knee drive of the rear leg after coming up (runner's lunge)
        dt = float(np.median(np.diff(ctx.t))) if n > 1 else 0.033
        w = slice(seg.plateau_end, min(seg.end + int(0.8 / dt) + 1, n))
        kd_hip = nanmax(ctx.angle("hip_flexion", rear)[w])
        knee_h = (ctx.floor_y - ctx.xy(rear, "knee")[w, 1]) / ctx.leg_length_px["ref"]
        kd_h = nanmax(knee_h)
        m["knee_drive_hip_flexion_deg"] = clean(kd_hip)
        m["knee_drive_height_leg"] = clean(kd_h, 2)
        m["knee_drive"] = bool((np.isfinite(kd_hip) and kd_hip >= KNEE_DRIVE_HIP_DEG)
                               or (np.isfinite(kd_h) and kd_h >= KNEE_DRIVE_HEIGHT))
        over = ctx.wrists_overhead()[seg.start:seg.end + 1]
        m["overhead_press"] = bool(over.size and np.mean(over) > 0.25)
        return RepResult(side=side, direction=observed, events=seg.events(ctx.t, self.event_names),
                         metrics=m, bottom=b, not_a_rep=fault)
