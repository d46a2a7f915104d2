"""Per-rep metrics shared by the exercise modules.

Angles come from `MovementContext.angle`, which returns NaN when the camera view cannot
support the measure; such metrics are left out (None) and reported as unsupported instead.
"""

from __future__ import annotations

import numpy as np

from formcheck.movements.context import MovementContext, other
from formcheck.movements.segment import Segment
from formcheck.movements.signals import at, clean, fill_gaps, nanmax, nanmin, nanpct


def window(seg: Segment, a: int | None = None, b: int | None = None) -> slice:
    return slice(seg.start if a is None else a, (seg.end if b is None else b) + 1)


def peak(ctx: MovementContext, measure: str, side: str | None, sl: slice) -> float:
    return nanmax(ctx.angle(measure, side)[sl])


def tempo(ctx: MovementContext, seg: Segment, names=("descent_s", "pause_s", "ascent_s")) -> dict:
    t = ctx.t
    return {
        names[0]: clean(t[seg.plateau_start] - t[seg.start], 2),
        names[1]: clean(t[seg.plateau_end] - t[seg.plateau_start], 2),
        names[2]: clean(t[seg.end] - t[seg.plateau_end], 2),
        "duration_s": clean(t[seg.end] - t[seg.start], 2),
    }


def foot_pitch(ctx: MovementContext, side: str) -> np.ndarray:
    """Foot pitch in degrees, + when the heel is higher than the toe, from the image. Only a side
    view shows the foot in the image plane; other views give NaN (world-landmark foot pitch was
    too noisy on real clips to flag on)."""
    if ctx.measure_source("heel_lift") is None:
        return np.full(len(ctx.t), np.nan)
    d = ctx.xy(side, "foot_index") - ctx.xy(side, "heel")
    pitch = np.degrees(np.arctan2(d[:, 1], np.abs(d[:, 0])))        # image y is down
    return fill_gaps(ctx.t, pitch, ctx.max_gap_s)


def heel_rise(ctx: MovementContext, side: str, seg: Segment, a: int | None = None, b: int | None = None) -> float:
    """Heel lift in degrees: foot pitch (heel up relative to the toe) in the loaded part of the rep
    (frames a..b, default the bottom plateau; median, so a single jittery frame does not count)
    minus the foot's flat pitch (20th percentile over the clip: the foot flat on the floor).
    An angle, so it does not depend on the foot's size in the image; measured against the flat
    foot rather than the rep start, so a foot stepping forward during the rep is not a heel lift."""
    h = foot_pitch(ctx, side)
    flat = nanpct(h, 20)
    lo = seg.plateau_start if a is None else a
    hi = seg.plateau_end if b is None else b
    return nanpct(h[lo:hi + 1], 50) - flat


def loaded_leg_metrics(ctx: MovementContext, side: str, seg: Segment, bottom: int,
                       sl: slice | None = None) -> dict:
    """Hip/knee/ankle/trunk/frontal measures of the loaded leg for one rep.

    Peaks are taken over `sl` (default: the whole rep); dorsiflexion at `bottom`.
    """
    sl = sl or window(seg)
    hip = peak(ctx, "hip_flexion", side, sl)
    knee = peak(ctx, "knee_flexion", side, sl)
    ratio = hip / knee if np.isfinite(hip) and np.isfinite(knee) and knee > 1 else float("nan")
    dfx = ctx.angle("ankle_dorsiflexion", side)
    fppa = peak(ctx, "knee_fppa", side, sl)
    drop = peak(ctx, "pelvic_drop", other(side), sl)     # contralateral side drops
    lat = ctx.angle("trunk_lateral_lean", side)[sl]
    return {
        "peak_hip_flexion_deg": clean(hip),
        "peak_knee_flexion_deg": clean(knee),
        "hip_knee_ratio": clean(ratio, 2),
        "ankle_dorsiflexion_bottom_deg": clean(at(dfx, bottom, 2)),
        "peak_ankle_dorsiflexion_deg": clean(nanmax(dfx[sl])),
        "peak_trunk_lean_deg": clean(nanmax(ctx.angle("trunk_lean")[sl])),
        # trunk inclination minus shin inclination at the bottom (shin ~ dorsiflexion with the
        # foot flat): > 0 = the trunk folds forward more than the shin tilts
        "trunk_minus_shin_deg": clean(at(ctx.angle("trunk_lean"), bottom, 2) - at(dfx, bottom, 2)),
        "peak_knee_fppa_deg": clean(fppa),
        "peak_contralateral_pelvic_drop_deg": clean(drop),
        "peak_trunk_lateral_lean_deg": clean(nanmax(np.abs(lat))),
        "heel_lift_deg": clean(heel_rise(ctx, side, seg)),
        "angle_source": ctx.measure_source("knee_flexion") or "none",
    }


def hip_drop(ctx: MovementContext, seg: Segment) -> float:
    """How far the hips went down, % of leg length, from standing."""
    h = ctx.hip_height
    return 100 * (ctx.standing_hip_height - nanmin(h[window(seg)]))
