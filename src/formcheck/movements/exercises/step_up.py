"""Step-up (optionally with a knee drive of the free leg at the top).

Driver: mid-hip height above the floor (leg lengths) - it rises by the box height.
Events: up_start, top (highest hip), top_start, down_start, end.
Working side = the lead leg, the foot already raised onto the box as the hips start to rise.
A rep is a step: the body rises onto a support one foot stands on (`pattern_fault`); a jump
leaves the floor with both feet at once.
"""

from __future__ import annotations

import numpy as np

from formcheck.movements.context import MovementContext, other
from formcheck.movements.exercises.base import BaseExercise, RepResult
from formcheck.movements.metrics import heel_rise, loaded_leg_metrics, tempo, window
from formcheck.movements.segment import Segment, SegmentParams
from formcheck.movements.signals import at, clean, nanmax, nanmin, nanpct

KNEE_DRIVE_HIP_DEG = 60.0
KNEE_DRIVE_HEIGHT = 0.80      # free knee this many leg lengths above the box surface
# While the hips rise a foot stays planted on the support, this close to its place (leg lengths;
# 75th percentile of the frames: a planted foot's point moves a little as the shin rolls over it,
# a box jump carries the feet up by the box height), and a knee straightens by at least
# STEP_KNEE_EXTENSION_DEG over the rise and again over its upper half, without bending again by
# as much: the lead leg lifts the body, whereas a jump's knees straighten to take off, then hold
# or bend in the air and bend to land. The knee also decides where the image cannot: from the
# front a jump toward the camera and up onto a box keeps the feet nearer their place in the
# picture. The figures measured on real and rendered step-ups: bench/README.md.
PLANTED = 0.20
STEP_KNEE_EXTENSION_DEG = 15.0


class Exercise(BaseExercise):
    event_names = ("up_start", "top", "top_start", "down_start", "end")
    default_params = SegmentParams(min_range=0.10, min_rep_s=0.5)

    def driver(self, ctx: MovementContext) -> np.ndarray:
        return ctx.hip_height

    def lead_side(self, ctx: MovementContext, seg: Segment) -> str:
        mid = seg.start + max((seg.peak - seg.start) // 2, 1)
        sl = slice(seg.start, mid + 1)
        hl = nanpct(ctx.foot_height("left")[sl], 50, 0.0)
        hr = nanpct(ctx.foot_height("right")[sl], 50, 0.0)
        return "left" if hl >= hr else "right"

    def pattern_fault(self, ctx: MovementContext, seg: Segment) -> str | None:
        """The body must rise onto a support by one leg: while the hips climb, one foot stays
        planted (on the box) and a knee straightens over the rise without bending again. In a
        jump both feet leave the floor together and the legs fly with the body (then bend to land)."""
        rise = np.arange(seg.start, seg.peak + 1)
        if rise.size < 2:
            return None
        # by place, not by label (the feet cross in the image as the trail leg comes up, where the
        # model may swap their labels): the place some foot stays nearest to, among those seen
        feet = [ctx.foot_point_xy(s)[rise] for s in ("left", "right")]
        places = np.concatenate(feet)
        places = places[np.isfinite(places).all(axis=1)]
        with np.errstate(all="ignore"):
            spread = [nanpct(np.fmin(*(np.linalg.norm(f - place, axis=1) for f in feet)), 75) for place in places]
        planted = not spread or min(spread) <= PLANTED * ctx.leg_length_px["ref"]
        knees = [ctx.angle("knee_flexion", s, allow_any=True)[rise] for s in ("left", "right")]
        straightens = any(at(k, 0, 1) - nanmin(k) >= STEP_KNEE_EXTENSION_DEG            # over the rise
                          and nanmax(k) - at(k, 0, 1) <= STEP_KNEE_EXTENSION_DEG        # without bending again
                          for k in knees)
        if not (planted and straightens):
            return "no step: the body did not rise onto a support by one leg (both feet left the floor, as in a jump)"
        return None

    def analyse_rep(self, ctx: MovementContext, seg: Segment) -> RepResult:
        side = self.lead_side(ctx, seg)
        free = other(side)
        up = window(seg, seg.start, seg.peak)
        m = loaded_leg_metrics(ctx, side, seg, seg.start, sl=up)
        m.pop("ankle_dorsiflexion_bottom_deg", None)
        m["heel_lift_deg"] = clean(heel_rise(ctx, side, seg, seg.start, seg.peak))  # lead foot while pushing up
        m.update(tempo(ctx, seg, names=("up_s", "top_s", "down_s")))
        h = ctx.hip_height
        m["hip_rise_pct_leg"] = clean(100 * (seg.peak_value - nanpct(h[max(seg.start - 2, 0):seg.start + 1], 50)))
        m["step_height_pct_leg"] = clean(100 * nanpct(ctx.foot_height(side)[seg.plateau_start:seg.plateau_end + 1], 50))
        n = len(ctx.t)
        dt = float(np.median(np.diff(ctx.t))) if n > 1 else 0.033
        pad = int(0.3 / dt)
        top = slice(max(seg.plateau_start - pad, 0), min(seg.plateau_end + pad + 1, n))
        kd_hip = nanmax(ctx.angle("hip_flexion", free)[top])
        knee_h = (ctx.floor_y - ctx.xy(free, "knee")[top, 1]) / ctx.leg_length_px["ref"]
        m["knee_drive_hip_flexion_deg"] = clean(kd_hip)
        kd_h = nanmax(knee_h) - nanpct(ctx.foot_height(side)[top], 50)
        m["knee_drive_height_leg"] = clean(kd_h, 2)
        # hip flexion where the view supports it, else the free knee raised near hip height
        m["knee_drive"] = bool((np.isfinite(kd_hip) and kd_hip >= KNEE_DRIVE_HIP_DEG)
                               or (not np.isfinite(kd_hip) and np.isfinite(kd_h) and kd_h >= KNEE_DRIVE_HEIGHT))
        return RepResult(side=side, direction=None, events=seg.events(ctx.t, self.event_names),
                         metrics=m, bottom=seg.peak, not_a_rep=self.pattern_fault(ctx, seg))

    def depth_metric(self) -> str:
        return "hip_rise_pct_leg"

    def asymmetry_metrics(self) -> list[tuple[str, str]]:
        return [("peak_knee_flexion_deg", "deg"), ("peak_hip_flexion_deg", "deg"),
                ("hip_knee_ratio", "ratio"), ("peak_knee_fppa_deg", "deg")]
