"""Bodyweight squat (both legs) and single-leg squat (variant single_leg = true).

A squat rep keeps both feet planted where they stood and bends hips and knees together
(`pattern_fault`): a knee bend while stepping (walking in, a walk-out from a rack) or a hip hinge
(deadlift) is not a squat rep; in a single-leg squat the free foot is held, not lifted by a knee
raise and put down (marching). A held weight changes nothing here.
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import SIDE_LANDMARKS, SIDES
from formcheck.movements.context import MovementContext
from formcheck.movements.exercises.base import BaseExercise, RepResult
from formcheck.movements.feet import FOOT_LIFT_MAX, feet_travel, foot_lift, moved_min
from formcheck.movements.metrics import heel_rise, hip_drop, loaded_leg_metrics, tempo
from formcheck.movements.segment import Segment, SegmentParams
from formcheck.movements.signals import at, clean, nanmax, nanpct

# A squat bends hips and knees about equally (peak hip / knee flexion ~0.8-1.2 in back-squat
# kinematics; 1.0 on the real side and front squat clips); a deadlift or hip hinge flexes the hips
# 1.4 to several times more than the knees. Not a form cut-off: it decides what the movement is.
HINGE_RATIO = 1.4
# Both feet this high (leg lengths) above their floor at once: a jump (it clears 0.1-0.4; the
# lowest point of a planted foot jitters by ~0.03, and stays down when the heels rise).
JUMP_CLEARANCE = 0.10
# How long after a rep's end its take-off is looked for: a jump's flight follows the dip within
# a few tenths of a second; a squatter stands still there.
JUMP_FLIGHT_S = 0.5
FOOT_POINTS = ("ankle", "heel", "foot_index")
# A foot raised this high (leg lengths) above where it was at both ends of a rep is a knee lift:
# marching and high knees lift it 0.3-0.5; a single-leg squat holds the free foot a few cm up
# (rendered: 0.12-0.14 above the floor, put down between reps) or forward, moving with the hips.
KNEE_LIFT = 0.25
# The free foot of a single-leg squat is off the floor: its lowest point higher than this (leg
# lengths) at the bottom, above the ~0.02-0.03 jitter of a planted foot (recognition's boundary).
FREE_FOOT_UP = 0.04
# Smallest hip drop (leg lengths) that counts as a single-leg squat rep when the rep is driven
# by the hip drop (front view): with thigh ~ shank, a drop d means a knee flexion of about
# 2*acos(1 - d), so 0.04 ~ 33 deg; the image noise of the mid-hip is ~0.01 leg lengths.
HIP_DROP_MIN_RANGE = 0.04


def knee_driver(ctx: MovementContext, how: str) -> np.ndarray:
    kl = ctx.angle("knee_flexion", "left", allow_any=True)
    kr = ctx.angle("knee_flexion", "right", allow_any=True)
    if how == "max":
        x = np.fmax(kl, kr)
    elif how == "min":
        x = np.fmin(kl, kr)
    elif how == "mean":
        x = np.where(np.isfinite(kl) & np.isfinite(kr), (kl + kr) / 2, np.fmax(kl, kr))
    else:
        x = kl if how == "left" else kr
    if not np.isfinite(x).any():   # no knee angles at all: hip drop, scaled to "degrees"
        x = 150.0 * ctx.hip_drop
    return x


def stance_side(ctx: MovementContext, sl: slice | None = None) -> str:
    """The lower foot. From the front both feet stand at about the same depth, so the feet are
    compared on one floor line: the per-foot floor of the side view would take a free foot held
    up the whole clip as standing on its own floor."""
    sl = sl or slice(None)
    if ctx.view.view == "frontal":
        y = {s: nanpct(ctx.lowest_point_y(s)[sl], 50, 0.0) for s in ("left", "right")}
        return "left" if y["left"] >= y["right"] else "right"
    hl = nanpct(ctx.foot_height("left")[sl], 50, 0.0)
    hr = nanpct(ctx.foot_height("right")[sl], 50, 0.0)
    return "left" if hl <= hr else "right"


def near_leg(ctx: MovementContext, seg: Segment) -> str:
    """The leg nearer the camera in a side view: higher MediaPipe visibility of knee and ankle."""
    from formcheck.landmarks import SIDE_LANDMARKS
    vis = {s: float(np.nanmean(ctx.pose.visibility[seg.start:seg.end + 1][:, [SIDE_LANDMARKS[s]["knee"],
                                                                              SIDE_LANDMARKS[s]["ankle"]]]))
           for s in ("left", "right")}
    return max(vis, key=lambda k: np.nan_to_num(vis[k]))


class Exercise(BaseExercise):
    default_params = SegmentParams(min_range=30.0)

    @property
    def single_leg(self) -> bool:
        return bool(self.variant.get("single_leg", False))

    def hip_drop_driven(self, ctx: MovementContext) -> bool:
        """Single-leg squat seen from the front: the stance knee angle is a compressed 3D
        estimate there, the hips going down is measured in the image."""
        return self.single_leg and ctx.view.view == "frontal" and np.isfinite(ctx.hip_drop).any()

    def params(self, ctx: MovementContext | None = None) -> SegmentParams:
        p = super().params(ctx)
        if ctx is not None and self.hip_drop_driven(ctx):
            p.min_range = HIP_DROP_MIN_RANGE
        return p

    def driver(self, ctx: MovementContext) -> np.ndarray:
        if self.hip_drop_driven(ctx):
            return ctx.hip_drop
        if self.single_leg:
            return knee_driver(ctx, stance_side(ctx))
        return knee_driver(ctx, "mean")

    def pattern_fault(self, ctx: MovementContext, seg: Segment) -> str | None:
        bottom = slice(seg.plateau_start, seg.plateau_end + 1)
        if self.single_leg:
            # the free foot is held a little off the floor while the stance knee bends: not down
            # on the floor at the bottom (an mSEBT reach touches down there; side view: from the
            # front a free foot held forward sits at floor level in the picture), and not raised
            # higher than at both ends of the rep by a knee lift and put down again (marching)
            # (a foot unseen there stands behind the other one, as feet together do)
            if (ctx.view.view == "sagittal"
                    and nanmax([nanpct(ctx.foot_height(s)[bottom], 50) for s in ("left", "right")]) < FREE_FOOT_UP):
                return "both feet were on the floor at the bottom (a reach touching down, not a single-leg squat)"
            ends = (seg.start, seg.end)
            rise = max(min(at(y, i, 2) for i in ends) - nanpct(y[seg.start:seg.end + 1], 5)   # image y is down
                       for y in (ctx.lowest_point_y(s) for s in ("left", "right")))
            if rise / ctx.leg_length_px["ref"] > KNEE_LIFT:
                return "a foot was lifted high and put down during the rep (a knee lift, as in marching)"
            return None
        if max(feet_travel(ctx, seg.start, seg.peak).values()) >= moved_min(ctx):
            return "a foot stepped (walking in or setting up, not squatting)"
        # a jump takes off straight out of the dip, when the knees have already straightened
        # (the rep's end): look on for the flight
        # read only where both feet are in the picture (a foot at or past the frame's edge has
        # no height to read)
        after = int(np.searchsorted(ctx.t, ctx.t[seg.end] + JUMP_FLIGHT_S))
        feet_seen = ctx.landmark_ok[:, [SIDE_LANDMARKS[s][j] for s in SIDES for j in FOOT_POINTS]].all(axis=1)
        # and with the hips above standing height too: the whole body leaves the floor
        flight = (feet_seen & (np.fmin(ctx.foot_height("left"), ctx.foot_height("right")) > JUMP_CLEARANCE)
                  & (ctx.hip_height > ctx.standing_hip_height + JUMP_CLEARANCE))
        if flight[seg.start:after + 1].any():
            return "both feet left the floor (a jump, not a squat)"
        if foot_lift(ctx, bottom, [seg.start]) > FOOT_LIFT_MAX:
            return "a foot was off the floor at the bottom"
        sl = slice(seg.start, seg.end + 1)
        hip = max(nanmax(ctx.angle("hip_flexion", s, allow_any=True)[sl]) for s in ("left", "right"))
        knee = max(nanmax(ctx.angle("knee_flexion", s, allow_any=True)[sl]) for s in ("left", "right"))
        if hip > HINGE_RATIO * knee:
            return "the hips hinged far more than the knees bent (a deadlift or hip hinge, not a squat)"
        return None

    def analyse_rep(self, ctx: MovementContext, seg: Segment) -> RepResult:
        bottom = seg.peak
        events = seg.events(ctx.t, self.event_names)
        if self.single_leg:
            side = stance_side(ctx, slice(seg.start, seg.end + 1))
            m = loaded_leg_metrics(ctx, side, seg, bottom)
        elif ctx.view.view == "sagittal":
            # side view: the far leg is hidden behind the near one, so its angles are guesses;
            # report the near (better seen) leg and make no left/right comparison
            side = "both"
            near = near_leg(ctx, seg)
            m = loaded_leg_metrics(ctx, near, seg, bottom)
            m.pop("peak_contralateral_pelvic_drop_deg", None)
            m["measured_leg"] = near
            # a heel lift is a gross movement, visible on the far foot too: take either foot
            lifts = [heel_rise(ctx, s, seg) for s in ("left", "right")]
            m["heel_lift_deg"] = clean(max([v for v in lifts if np.isfinite(v)], default=float("nan")))
        else:
            side = "both"
            per = {s: loaded_leg_metrics(ctx, s, seg, bottom) for s in ("left", "right")}
            m = {}
            for k, vl in per["left"].items():
                vr = per["right"][k]
                if isinstance(vl, str) or k == "peak_contralateral_pelvic_drop_deg":
                    if isinstance(vl, str):
                        m[k] = vl
                    continue
                vals = [v for v in (vl, vr) if v is not None]
                if k in ("peak_knee_fppa_deg", "heel_lift_deg", "peak_trunk_lateral_lean_deg"):
                    m[k] = max(vals) if vals else None
                else:
                    m[k] = clean(float(np.mean(vals)), 2 if k == "hip_knee_ratio" else 1) if vals else None
                if k in ("peak_knee_flexion_deg", "peak_knee_fppa_deg", "peak_hip_flexion_deg"):
                    m[f"left_{k}"], m[f"right_{k}"] = vl, vr
        m.update(tempo(ctx, seg))
        m["hip_drop_pct_leg"] = clean(hip_drop(ctx, seg))
        return RepResult(side=side, direction=None, events=events, metrics=m, bottom=bottom,
                         not_a_rep=self.pattern_fault(ctx, seg))

    def asymmetry_metrics(self) -> list[tuple[str, str]]:
        if self.single_leg:
            return super().asymmetry_metrics()
        return [("peak_knee_flexion_deg", "deg"), ("peak_knee_fppa_deg", "deg"),
                ("peak_hip_flexion_deg", "deg")]  # from left_/right_ columns within reps
