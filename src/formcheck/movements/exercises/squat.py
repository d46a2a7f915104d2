"""Bodyweight squat (both legs) and single-leg squat (variant single_leg = true)."""

from __future__ import annotations

import numpy as np

from formcheck.movements.context import MovementContext
from formcheck.movements.exercises.base import BaseExercise, RepResult
from formcheck.movements.metrics import heel_rise, hip_drop, loaded_leg_metrics, tempo
from formcheck.movements.segment import Segment, SegmentParams
from formcheck.movements.signals import clean, nanpct


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
        x = 150.0 * (ctx.standing_hip_height - ctx.hip_height)
    return x


def stance_side(ctx: MovementContext, sl: slice | None = None) -> str:
    sl = sl or slice(None)
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

    def driver(self, ctx: MovementContext) -> np.ndarray:
        if self.single_leg:
            return knee_driver(ctx, stance_side(ctx))
        return knee_driver(ctx, "mean")

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
        return RepResult(side=side, direction=None, events=events, metrics=m, bottom=bottom)

    def asymmetry_metrics(self) -> list[tuple[str, str]]:
        if self.single_leg:
            return super().asymmetry_metrics()
        return [("peak_knee_flexion_deg", "deg"), ("peak_knee_fppa_deg", "deg"),
                ("peak_hip_flexion_deg", "deg")]  # from left_/right_ columns within reps
