"""Per-rep metrics shared by the exercise modules.

Angles come from `MovementContext.angle`, which returns NaN when the camera view cannot
support the measure; such metrics are left out (None) and reported as unsupported instead.
"""

from __future__ import annotations

import numpy as np

from formcheck.movements.context import MovementContext, other
from formcheck.movements.segment import Segment
from formcheck.movements.signals import at, clean, nanmax, nanmin, nanpct


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


# Heel-to-ball (metatarsal heads) distance as a fraction of heel-to-toe-tip length: the heel
# pivots about the ball when it lifts (foot anthropometry: the first metatarsal head lies at
# ~70-75 % of foot length from the heel).
HEEL_TO_BALL = 0.73
SAME_SURFACE_LEG = 0.06   # toe within this many leg lengths of its loaded height: same support


def heel_rise(ctx: MovementContext, side: str, seg: Segment, a: int | None = None, b: int | None = None) -> float:
    """Heel lift in degrees: how far the heel rose above its own flat position, as the angle of a
    foot pivoting on the ball (asin(rise / heel-to-ball length)); side view only (NaN otherwise).

    The heel's image height, not the heel-to-toe pitch: MediaPipe's toe point slides down and
    forward while a flat foot dorsiflexes (a pitch of its own on rendered flat feet), the heel
    point does not. Frames a..b (default the bottom plateau; median, so one jittery frame does
    not count) are compared with the lowest the heel gets (80th percentile of image y) in the
    frames where the toe is on the same support (within SAME_SURFACE_LEG of its height in the
    window), so a foot standing on a box or stepping is compared with itself on that surface.
    Frames whose foot landmarks were at the picture's edge count for neither (kinematics.support).

    The ankle must rise with the heel: pivoting on the ball lifts it by its own lever (its
    distance to the ball), about 0.6 of the heel's rise. A heel point rising alone is the model
    misplacing it (a real split squat, a dumbbell in front of the planted heel), so the lift is the
    smaller of the two angles. The figures measured on rendered and real feet: bench/README.md."""
    if ctx.measure_source("heel_lift") is None:
        return float("nan")
    ok = ctx.supported("heel_lift", side)[:, None]
    heel, toe, ankle = (np.where(ok, ctx.xy(side, j), np.nan) for j in ("heel", "foot_index", "ankle"))
    lo = seg.plateau_start if a is None else a
    hi = seg.plateau_end if b is None else b
    toe_w = nanpct(toe[lo:hi + 1, 1], 50)
    with np.errstate(invalid="ignore"):
        same = np.abs(toe[:, 1] - toe_w) <= SAME_SURFACE_LEG * ctx.leg_length_px["ref"]
        foot_len = nanpct(np.linalg.norm(toe - heel, axis=1), 90)
        ankle_back = nanpct(np.abs(ankle[same, 0] - heel[same, 0]), 50)   # along the flat foot

    def lift(point: np.ndarray, lever: float) -> float:
        rise = nanpct(point[same, 1], 80) - nanpct(point[lo:hi + 1, 1], 50)   # image y is down
        if not (np.isfinite(rise) and lever > 0):
            return float("nan")
        return float(np.degrees(np.arcsin(np.clip(rise / lever, -1.0, 1.0))))

    by_heel = lift(heel, HEEL_TO_BALL * foot_len)
    by_ankle = lift(ankle, HEEL_TO_BALL * foot_len - ankle_back)
    return float(np.nanmin([by_heel, by_ankle])) if np.isfinite(by_heel) else by_heel


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
    shank = at(ctx.shank_inclination(side), bottom, 2)
    fppa = peak(ctx, "knee_fppa", side, sl)
    drop = peak(ctx, "pelvic_drop", other(side), sl)     # contralateral side drops
    lat = ctx.angle("trunk_lateral_lean", side)[sl]
    return {
        "peak_hip_flexion_deg": clean(hip),
        "peak_knee_flexion_deg": clean(knee),
        "hip_knee_ratio": clean(ratio, 2),
        "ankle_dorsiflexion_bottom_deg": clean(at(dfx, bottom, 2)),
        "peak_ankle_dorsiflexion_deg": clean(nanmax(dfx[sl])),
        # the shin's own forward tilt: what the dorsiflexion should be with the foot flat, from
        # knee and ankle only (the toe point is the least reliable landmark, often cut off)
        "shank_inclination_bottom_deg": clean(shank),
        "peak_trunk_lean_deg": clean(nanmax(ctx.angle("trunk_lean")[sl])),
        # trunk inclination minus shin inclination at the bottom: > 0 = the trunk folds forward
        # more than the shin tilts
        "trunk_minus_shin_deg": clean(at(ctx.angle("trunk_lean"), bottom, 2) - shank),
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
