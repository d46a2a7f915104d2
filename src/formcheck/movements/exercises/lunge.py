"""Lunges: forward, reverse, lateral, split squat, runner's lunge (knee drive, overhead press).

Working side = the front (loaded) leg; for a lateral lunge the leg that bends.
"""

from __future__ import annotations

import numpy as np

from formcheck.movements.context import MovementContext, other
from formcheck.movements.exercises.base import BaseExercise, RepResult
from formcheck.movements.exercises.squat import knee_driver
from formcheck.movements.metrics import hip_drop, loaded_leg_metrics, tempo
from formcheck.movements.segment import Segment, SegmentParams
from formcheck.movements.signals import at, clean, nanmax, nanmin

KNEE_DRIVE_HIP_DEG = 60.0     # free-leg hip flexion that counts as a knee drive
KNEE_DRIVE_HEIGHT = 0.80      # or free knee at >= 80 % of leg length above the floor
MOVED_FOOT_MIN = 0.25         # leg lengths a foot must travel to count as a stepping foot
MOVED_FOOT_MIN_FRONT = 0.10   # same in a front/oblique view (seen only through perspective)


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


def foot_travel(ctx: MovementContext, side: str, a: int, b: int) -> float:
    """How far a foot moved in the image between frames a and b, in leg lengths.

    The camera is static, so the image shows which foot left its place (a world-landmark
    displacement would not: MediaPipe world coordinates move with the hips). In a front view
    a step forward/back shows up through perspective (the foot moves up/down the image)."""
    p = ctx.foot_point_xy(side)
    d = np.linalg.norm(p[b] - p[a]) / ctx.leg_length_px["ref"]
    return float(d) if np.isfinite(d) else float("nan")


def feet_travel(ctx: MovementContext, a: int, b: int) -> dict[str, float]:
    """Travel of each foot (named by its label at frame b) between frames a and b.

    If the model swapped the left/right leg labels in between (both feet "jump" to where the
    other one was), the swapped pairing is used so a label swap does not look like a step."""
    pa = {s: ctx.foot_point_xy(s)[a] for s in ("left", "right")}
    pb = {s: ctx.foot_point_xy(s)[b] for s in ("left", "right")}
    L = ctx.leg_length_px["ref"]
    same = {s: np.linalg.norm(pb[s] - pa[s]) / L for s in pa}
    swap = {s: np.linalg.norm(pb[s] - pa[other(s)]) / L for s in pa}
    tot_same, tot_swap = np.nansum(list(same.values())), np.nansum(list(swap.values()))
    use = swap if np.isfinite(tot_swap) and tot_swap < 0.5 * tot_same else same
    return {k: (float(v) if np.isfinite(v) else 0.0) for k, v in use.items()}


class Exercise(BaseExercise):
    default_params = SegmentParams(min_range=30.0)

    def driver(self, ctx: MovementContext) -> np.ndarray:
        # Both knees bend in a split-stance lunge; only one bends in a knee drive or a lateral
        # lunge. The less-bent knee therefore drives the reps (a knee drive adds none), except
        # for the lateral lunge whose trailing leg stays straight.
        if self.variant.get("direction") == "lateral":
            return knee_driver(ctx, "max")
        return knee_driver(ctx, "min")

    def standing_frame(self, ctx: MovementContext, seg: Segment) -> int:
        """Frame before the rep with the feet closest together (the stepping foot has not left
        yet), searched back to the previous rep's end or 2 s."""
        dt = float(np.median(np.diff(ctx.t))) if len(ctx.t) > 1 else 0.033
        lo = max(getattr(self, "prev_end", 0), seg.start - int(2.0 / dt), 0)
        d = ctx.foot_offset("left", "right")["total"][lo:seg.start + 1]
        if not np.isfinite(d).any():
            return max(seg.start - 2, 0)
        return lo + int(np.nanargmin(d))

    def analyse_rep(self, ctx: MovementContext, seg: Segment) -> RepResult:
        b = seg.peak
        n = len(ctx.t)
        a0 = self.standing_frame(ctx, seg)
        tr = feet_travel(ctx, a0, b)
        moving = max(tr, key=tr.get)
        offs = ctx.foot_offset(other(moving), moving)
        ant, lat = abs(at(offs["anterior"], b, 2)), abs(at(offs["lateral"], b, 2))
        lateral = np.isfinite(lat) and np.isfinite(ant) and lat > 1.5 * ant and lat > 0.5
        if self.variant.get("direction") == "lateral" or (self.variant.get("direction") is None and lateral):
            kl, kr = at(ctx.angle("knee_flexion", "left", allow_any=True), b, 2), at(
                ctx.angle("knee_flexion", "right", allow_any=True), b, 2)
            side, conf = ("left" if np.nan_to_num(kl) >= np.nan_to_num(kr) else "right"), 0.8
            direction = "lateral"
        else:
            side, conf = front_leg(ctx, b)
            if tr[moving] < (MOVED_FOOT_MIN if ctx.view.view == "sagittal" else MOVED_FOOT_MIN_FRONT):
                direction = "static"
            else:
                direction = "forward" if moving == side else "reverse"
        rear = other(side)
        m = loaded_leg_metrics(ctx, side, seg, b)
        m["side_confidence"] = clean(conf, 2)
        m["rear_knee_flexion_deg"] = clean(nanmax(ctx.angle("knee_flexion", rear)[seg.start:seg.end + 1]))
        rh = nanmin(ctx.angle("hip_flexion", rear)[seg.start:seg.end + 1])
        m["rear_hip_extension_deg"] = clean(-rh if np.isfinite(rh) else float("nan"))
        m["stance_length_leg"] = clean(at(offs["total"], b, 2), 2)
        m["foot_travel_leg"] = clean(tr[moving], 2)
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
        return RepResult(side=side, direction=direction, events=seg.events(ctx.t, self.event_names),
                         metrics=m, bottom=b)
