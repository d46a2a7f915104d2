"""Modified Star Excursion Balance Test: single-leg stance, the free foot reaches
anterior, posteromedial or posterolateral, touches lightly and returns.

Driver: distance between the feet (leg lengths). Events: reach_start, max_reach,
reach_hold_start, return_start, end. Side = the STANCE leg (as the test is scored).
Reach = distance from the stance-foot centre to the reaching toe at maximal reach,
normalised to the subject's own leg length (hip joint centre to ankle, thigh + shank);
in cm when the leg length (ASIS to medial malleolus, as in the protocol) is given.
"""

from __future__ import annotations

import numpy as np

from formcheck.movements.context import MovementContext, other
from formcheck.movements.exercises.base import BaseExercise, RepResult
from formcheck.movements.metrics import heel_rise, loaded_leg_metrics, window
from formcheck.movements.segment import Segment, SegmentParams
from formcheck.movements.signals import at, clean, nanmax, nanmin, nanpct

FOOT_DOWN = 0.03   # foot height (leg lengths) below which a foot is on the floor


class Exercise(BaseExercise):
    event_names = ("reach_start", "max_reach", "reach_hold_start", "return_start", "end")
    default_params = SegmentParams(min_range=0.30, min_rep_s=0.5)

    def driver(self, ctx: MovementContext) -> np.ndarray:
        """How far the foot-to-foot vector is from its resting value (leg lengths): the reach
        foot's excursion whatever the direction (a posterolateral reach crosses behind the
        stance foot, so the plain distance between the feet would hardly grow)."""
        off = ctx.foot_offset("left", "right")

        def excursion(a, lat):
            rest_a, rest_l = nanpct(a, 50, 0.0), nanpct(lat, 50, 0.0)
            return np.sqrt((a - rest_a) ** 2 + (np.nan_to_num(lat, nan=rest_l) - rest_l) ** 2)

        # image-based where the view allows, world-based otherwise; the larger of the two so a
        # reach toward/away from a side camera (posteromedial seen from the side) still counts
        return np.fmax(excursion(off["anterior"], off["lateral"]),
                       excursion(off["anterior_world"], off["lateral_world"]))

    def stance_side(self, ctx: MovementContext, seg: Segment) -> str:
        score = {}
        for s in ("left", "right"):
            p = ctx.foot_point_xy(s)
            d = np.linalg.norm(p[seg.start:seg.end + 1] - p[seg.start], axis=1) / ctx.leg_length_px["ref"]
            score[s] = nanmax(d) + nanmax(ctx.foot_height(s)[seg.start:seg.end + 1])
        return min(score, key=lambda k: np.nan_to_num(score[k], nan=9.0))

    def analyse_rep(self, ctx: MovementContext, seg: Segment) -> RepResult:
        stance = self.stance_side(ctx, seg)
        reach = other(stance)
        offs = ctx.foot_offset(reach, stance, moving_joint="foot_index")
        sl = window(seg)
        tot = offs["total"][sl]
        i = seg.peak                                      # largest excursion of the reach foot
        # direction from the reach foot's displacement since the start of the trial
        a = at(offs["anterior"], i, 1) - at(offs["anterior"], seg.start, 1)
        lat = at(offs["lateral"], i, 1) - at(offs["lateral"], seg.start, 1)
        medial = -lat if stance == "left" else lat       # toward the reaching leg's side
        if self.variant.get("direction"):
            direction = self.variant["direction"]
        elif not np.isfinite(a):
            direction = "unknown"
        elif a >= 0:
            direction = "anterior"
        else:
            direction = "posteromedial" if np.nan_to_num(medial) >= 0 else "posterolateral"
        m: dict = {"reach_pct_leg": clean(100 * at(offs["total"], i, 1)),
                   "reach_anterior_pct_leg": clean(100 * a), "reach_medial_pct_leg": clean(100 * medial),
                   "reach_method": "image (in-plane)" if ctx.view.view == "sagittal" and direction == "anterior"
                   else "image + world landmarks"}
        full = loaded_leg_metrics(ctx, stance, seg, i)
        # stance-leg angles AT maximal reach (Pinheiro 2020), plus the trial peaks
        for meas, key in (("hip_flexion", "hip_flexion_at_reach_deg"), ("knee_flexion", "knee_flexion_at_reach_deg"),
                          ("ankle_dorsiflexion", "ankle_dorsiflexion_at_reach_deg")):
            m[key] = clean(at(ctx.angle(meas, stance), i, 1))
        m["trunk_lean_at_reach_deg"] = clean(at(ctx.angle("trunk_lean"), i, 1))
        h, k = m["hip_flexion_at_reach_deg"], m["knee_flexion_at_reach_deg"]
        m["hip_knee_ratio"] = clean(h / k, 2) if h is not None and k and k > 1 else None
        for key in ("peak_hip_flexion_deg", "peak_knee_flexion_deg", "peak_trunk_lean_deg", "peak_knee_fppa_deg",
                    "peak_contralateral_pelvic_drop_deg", "peak_trunk_lateral_lean_deg", "angle_source"):
            m[key] = full[key]
        # raw evidence for trial validity (judged in rules.py against thresholds.toml)
        m["stance_heel_lift_deg"] = clean(heel_rise(ctx, stance, seg, max(i - 2, seg.start), min(i + 2, seg.end)))
        down = ctx.foot_height(reach)[sl] < FOOT_DOWN
        far = tot >= 0.9 * nanmax(tot)
        both = down & far
        longest, run, run_end = 0, 0, 0
        for j, v in enumerate(both):
            run = run + 1 if v else 0
            if run > longest:
                longest, run_end = run, j
        dt = float(np.median(np.diff(ctx.t))) if len(ctx.t) > 1 else 0.033
        m["reach_foot_down_s"] = clean(longest * dt, 2)
        # weight shifting onto the reach foot: the stance knee straightens while it is down
        unload = float("nan")
        if longest:
            k = ctx.angle("knee_flexion", stance, allow_any=True)[sl]
            a0 = max(run_end - longest + 1 - int(0.2 / dt), 0)
            unload = nanmax(k[a0:run_end - longest + 2]) - nanmin(k[run_end - longest + 1:run_end + 1])
        m["stance_knee_unload_deg"] = clean(unload)
        p = ctx.foot_point_xy(stance)
        shift = np.linalg.norm(p[sl] - p[seg.start], axis=1) / ctx.leg_length_px["ref"]
        m["stance_foot_shift_leg"] = clean(nanmax(shift), 3)
        end_gap = at(ctx.foot_offset("left", "right")["total"], seg.end, 1)
        m["returned"] = bool(np.isfinite(end_gap) and end_gap <= nanpct(ctx.foot_offset("left", "right")["total"], 10) + 0.2)
        m["return_s"] = clean(ctx.t[seg.end] - ctx.t[seg.plateau_end], 2)
        m["reach_out_s"] = clean(ctx.t[seg.plateau_start] - ctx.t[seg.start], 2)
        return RepResult(side=stance, direction=direction, events=seg.events(ctx.t, self.event_names),
                         metrics=m, bottom=i)

    def depth_metric(self) -> str:
        return "reach_pct_leg"

    def asymmetry_metrics(self) -> list[tuple[str, str]]:
        return [("reach_pct_leg", "pct_limb"), ("hip_flexion_at_reach_deg", "deg"),
                ("knee_flexion_at_reach_deg", "deg")]
