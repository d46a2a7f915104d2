"""Which exercise is this, which side works in each rep, and from which camera view.

Recognition is a transparent set of scored rules on clip-level features (no learned model):

* squat            both knees bend together, feet stay close and both feet stay on the floor;
* single-leg squat one foot held off the floor while the stance knee bends, feet close;
* lunge            feet far apart (split stance) with both knees bent; or a wide step where the
                   stepping leg is the bent one (lateral / forward lunge);
* step-up          the hips rise well above standing height (the body goes up onto a support);
* mSEBT / reach    feet far apart, but only the stance knee bends: the free foot travels far,
                   stays straight-ish and returns, the bent leg's foot stays put; the reach
                   comes out of the stance-leg squat (the knee is already near its deepest when
                   the feet get wide), whereas a lunge steps first and then goes down.

Each family must also show its defining pattern rep by rep (`verified_share`: the exercise
module's `pattern_fault` on the reps its driver finds): a lunge keeps both feet on the floor in a
split stance, a step-up rises onto a support by one leg (a foot stays planted while its knee
straightens; a jump leaves with both feet), a squat keeps the feet planted and bends hips and
knees together, a single-leg squat holds the free foot. Below MIN_CONFIDENCE the answer is "none
of the known exercises" (jumps, marching, hinges, running drills ...).

Geometry is normalised by the subject's leg length. The family is decided here; the variant
(forward/reverse/lateral lunge, knee drive, overhead press) is read from the reps.
The camera view is estimated in context.estimate_view.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from formcheck.movements import exercises as ex_registry
from formcheck.movements.context import MovementContext
from formcheck.movements.feet import FOOT_LIFT_MAX, REACH_KNEE_LEAD, feet_height_diff
from formcheck.movements.segment import segment
from formcheck.movements.signals import nanpct, sigmoid

# Below this recognition confidence the exercise is "unknown": no reps, flags or cues, and the
# output says how to choose the exercise. Not clinical: the one cut-off of the recogniser. Scores
# are products of the defining patterns' evidence (each 0-1), so 0.5 asks that the winner shows
# them clearly and beats the runner-up.
MIN_CONFIDENCE = 0.5
# A family is a candidate (its reps are checked for its pattern) from this feature score on.
CANDIDATE_SCORE = 0.1
# The feature scores are products of soft cut-offs that the pose model's noise pulls down: from
# this score on the features are clear evidence and the pattern check of the reps decides; below
# it the confidence falls with the score. Calibrated on bench/accuracy.py's rendered matrix and
# bench/real_clips.py; the scores measured there: bench/README.md.
FEATURES_CLEAR = 0.3

# The frames the features look at, from the clip's own range (leg lengths, degrees):
# "feet together": within FEET_TOGETHER_LEG of the 10th-percentile foot-to-foot distance;
FEET_TOGETHER_LEG = 0.1
# "working": the more-bent knee at ACTIVE_KNEE_MIN_DEG or more and at least ACTIVE_SHARE_OF_PEAK of
# its 95th-percentile flexion;
ACTIVE_KNEE_MIN_DEG, ACTIVE_SHARE_OF_PEAK = 35.0, 0.6
# "wide stance": the feet at least WIDE_SHARE_OF_PEAK of their 95th-percentile distance apart.
WIDE_SHARE_OF_PEAK = 0.8
# knee_lead reads only the episodes whose knee bends more than this past its value at rest.
KNEE_LEAD_MIN_BEND_DEG = 15.0
# Feet at clearly different heights (a foot on a step, or held up) differ by more than this.
FEET_LEVEL_TOLERANCE_LEG = 0.03

FAMILY_DEFAULT = {
    "squat": "squat",
    "single_leg_squat": "single_leg_squat",
    "lunge": "reverse_lunge",
    "step_up": "step_up",
    "sebt": "sebt",
}


@dataclass
class Recognition:
    family: str
    exercise: str
    confidence: float | None         # None for "unknown"
    scores: dict[str, float]
    features: dict[str, float] = field(default_factory=dict)
    closest: str | None = None       # the best-scoring family, also when too uncertain to name


def _med(x: np.ndarray, mask: np.ndarray, default: float = np.nan) -> float:
    v = x[mask]
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else default


def _share(yes: np.ndarray, seen: np.ndarray, mask: np.ndarray) -> float:
    """Share of the seen frames in `mask` where `yes` holds; 1 (no evidence against) if none was."""
    m = mask & seen
    return float(np.mean(yes[m])) if m.any() else 1.0


def foot_travel_range(ctx: MovementContext, side: str) -> float:
    """Spread of a foot's position over the clip, leg lengths (image in side view, else world)."""
    if ctx.view.view == "sagittal":
        p, L = ctx.foot_point_xy(side), ctx.leg_length_px["ref"]
    else:
        p, L = ctx.foot_point_world(side), ctx.leg_length_world["mean"]
    ok = np.isfinite(p).all(axis=1)
    if ok.sum() < 3 or not np.isfinite(L):
        return float("nan")
    d = np.linalg.norm(p[ok] - np.median(p[ok], axis=0), axis=1) / L
    return float(np.percentile(d, 95))


def wide_episodes(sep: np.ndarray, at_sep: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(last feet-together frame before it, its frames) for each wide-stance episode that starts
    from the feet together."""
    rest = sep <= nanpct(sep, 10, 0.0) + FEET_TOGETHER_LEG
    idx = np.flatnonzero(at_sep)
    if not idx.size:
        return []
    out = []
    for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1):
        before = np.flatnonzero(rest[:run[0]])
        if before.size:
            out.append((int(before[-1]), run))
    return out


def bent_leg_travel(ctx: MovementContext, kl, kr, sep, at_sep) -> tuple[float, float]:
    """Mean travel (leg lengths) of the more-bent and the straighter leg's foot, from the last
    feet-together frame before each wide-stance episode to the middle of that episode."""
    if ctx.view.view == "sagittal":
        pts = {s: ctx.foot_point_xy(s) for s in ("left", "right")}
        L = ctx.leg_length_px["ref"]
    else:
        pts = {s: ctx.foot_point_world(s) for s in ("left", "right")}
        L = ctx.leg_length_world["mean"]
    if not np.isfinite(L):
        return 0.0, 0.0
    tb, ts = [], []
    for ref, run in wide_episodes(sep, at_sep):
        mid = int(run[len(run) // 2])
        d = {s: np.linalg.norm(pts[s][mid] - pts[s][ref]) / L for s in pts}
        bent = "left" if np.nan_to_num(kl[mid]) >= np.nan_to_num(kr[mid]) else "right"
        straight = "right" if bent == "left" else "left"
        if np.isfinite(d[bent]) and np.isfinite(d[straight]):
            tb.append(d[bent])
            ts.append(d[straight])
    return (float(np.mean(tb)), float(np.mean(ts))) if tb else (0.0, 0.0)


def knee_lead(kmax: np.ndarray, sep: np.ndarray, at_sep: np.ndarray) -> float:
    """Share of an episode's peak knee flexion already reached when the feet first get wide
    (median over wide-stance episodes that start from the feet together; NaN if none). Used in
    side views, where both the knee angle and the foot-to-foot distance are in the image.

    A lunge steps first and then goes down (~0.3-0.5: the front knee bends on the planted
    foot); an mSEBT reach glides out of the stance-leg squat (~0.9-1.0: the free foot never
    takes the weight, so the reach grows with the stance knee). Independent of where the hips
    sit, which a knee-dominant reach moves between the feet like a lunge."""
    out = []
    for r0, run in wide_episodes(sep, at_sep):
        first = int(run[0])
        in_run = kmax[r0:int(run[-1]) + 1]
        k0, pk = kmax[r0], np.nanmax(in_run) if np.isfinite(in_run).any() else np.nan
        if np.isfinite(k0) and np.isfinite(pk) and np.isfinite(kmax[first]) and pk - k0 > KNEE_LEAD_MIN_BEND_DEG:
            out.append((kmax[first] - k0) / (pk - k0))
    return float(np.median(out)) if out else float("nan")


def support_geometry(ctx: MovementContext, kl, kr, frames, by_height: bool = False) -> tuple[float, float]:
    """(share, distance): how the hips sit relative to the supporting foot, medians over `frames`.

    The supporting foot is the more-bent leg's foot (by_height: the lower foot when the feet are
    at clearly different heights). distance = horizontal hip-to-supporting-foot distance in leg
    lengths; share = that distance / (distance to the supporting foot + distance to the other).
    Balance on one leg keeps the hips over the stance foot (mSEBT, single-leg squat: share
    ~0.2, distance ~0.1); a lunge or squat loads both feet, hips between them (share ~0.4-0.5)."""
    idx = np.flatnonzero(frames)
    if not idx.size:
        return float("nan"), float("nan")
    fl, fr = ctx.foot_point_world("left"), ctx.foot_point_world("right")
    hl, hr = ctx.foot_height("left"), ctx.foot_height("right")
    lw = ctx.leg_length_world["mean"]
    shares, dists = [], []
    for i in idx:
        dh = np.nan_to_num(hl[i]) - np.nan_to_num(hr[i])
        if by_height and abs(dh) > FEET_LEVEL_TOLERANCE_LEG:
            sup_left = dh < 0
        else:
            sup_left = np.nan_to_num(kl[i]) >= np.nan_to_num(kr[i])
        fb, fo = (fl[i], fr[i]) if sup_left else (fr[i], fl[i])
        db, do = np.linalg.norm(fb[[0, 2]]), np.linalg.norm(fo[[0, 2]])   # world origin = mid-hip
        if np.isfinite(db) and np.isfinite(do) and db + do > 1e-6:
            shares.append(float(db / (db + do)))
            dists.append(float(db / lw))
    if not shares:
        return float("nan"), float("nan")
    return float(np.median(shares)), float(np.median(dists))


def features(ctx: MovementContext) -> dict[str, float]:
    kl = ctx.angle("knee_flexion", "left", allow_any=True)
    kr = ctx.angle("knee_flexion", "right", allow_any=True)
    kmax, kmin = np.fmax(kl, kr), np.fmin(kl, kr)
    H = ctx.hip_height
    sep = ctx.foot_offset("left", "right")
    fl, fr = ctx.foot_height("left"), ctx.foot_height("right")
    knee_peak = nanpct(kmax, 95, 0.0)
    active = kmax >= max(ACTIVE_KNEE_MIN_DEG, ACTIVE_SHARE_OF_PEAK * knee_peak)
    sep_peak = nanpct(sep["total"], 95, 0.0)
    at_sep = sep["total"] >= WIDE_SHARE_OF_PEAK * sep_peak
    tb, ts = bent_leg_travel(ctx, kl, kr, sep["total"], at_sep)
    dh = feet_height_diff(ctx)
    f = {
        "knee_peak_deg": knee_peak,
        "knee_min_active_deg": _med(kmin, active, 0.0),
        # both knees change angle during the clip (not true of a single-leg squat's free leg)
        "knee_co_move_deg": min(nanpct(kl, 95, 0.0) - nanpct(kl, 5, 0.0), nanpct(kr, 95, 0.0) - nanpct(kr, 5, 0.0)),
        "knee_ratio_active": _med(kmin / np.maximum(kmax, 1.0), active, 0.0),
        "hip_rise_leg": nanpct(H, 95, 0.0) - ctx.standing_hip_height,
        # hips higher above the floor than standing allows (leg lengths; ~1.1 standing tall)
        "hip_height_top_leg": nanpct(H, 95, 0.0),
        # a foot up on a support much of the time (box, bench, or a free foot held up)
        "foot_up_typical_leg": nanpct(np.fmax(fl, fr), 75, 0.0),
        "hip_drop_leg": ctx.standing_hip_height - nanpct(H, 5, 0.0),
        "sep_active_leg": _med(sep["total"], active, 0.0),
        "sep_peak_leg": sep_peak,
        "sep_range_leg": sep_peak - nanpct(sep["total"], 5, 0.0),
        # how far the foot-to-foot vector leaves its resting value (a foot goes out and back);
        # side view: in the image plane only (the lateral part is MediaPipe's depth guess)
        "foot_excursion_leg": nanpct(
            np.hypot(sep["anterior"] - nanpct(sep["anterior"], 50, 0.0),
                     0.0 if ctx.view.view == "sagittal" else
                     np.nan_to_num(sep["lateral"] - nanpct(sep["lateral"], 50, 0.0))), 95, 0.0),
        # less-bent knee while the feet are far apart AND the knees are working
        "knee_min_at_sep_deg": _med(kmin, at_sep & active if (at_sep & active).any() else at_sep, 0.0),
        "knee_max_at_sep_deg": _med(kmax, at_sep, 0.0),
        "sep_lateral_at_sep": _med(np.abs(sep["lateral"]), at_sep, 0.0),
        "sep_anterior_at_sep": _med(np.abs(sep["anterior"]), at_sep, 0.0),
        "foot_up_active_leg": _med(np.fmax(fl, fr), active, 0.0),
        # the higher foot while the feet are far apart: a reach touches down, a leg swung back does not
        "foot_up_at_sep_leg": _med(np.fmax(fl, fr), at_sep, 0.0),
        # share of the wide, working frames with both feet on their support (neither lifted
        # relative to the other, as against the clip's usual): a lunge, not a knee raised in the
        # air; side view only (feet.FOOT_LIFT_MAX)
        "feet_grounded_at_sep": _share(np.abs(dh - nanpct(dh, 50)) <= FOOT_LIFT_MAX, np.isfinite(dh),
                                       at_sep & active if (at_sep & active).any() else at_sep),
        "hip_between_feet": support_geometry(ctx, kl, kr, at_sep & active if (at_sep & active).any() else at_sep)[0],
        "hip_to_support_leg": support_geometry(ctx, kl, kr, active, by_height=True)[1],
        # side view only: from the front both the knee angle and the reach are 3D estimates
        "knee_lead": knee_lead(kmax, sep["total"], at_sep) if ctx.view.view == "sagittal" else np.nan,
        "travel_bent_leg": tb,
        "travel_straight_leg": ts,
        "overhead_fraction": float(np.mean(ctx.wrists_overhead())) if len(ctx.t) else 0.0,
    }
    out = {k: float(np.nan_to_num(v)) for k, v in f.items()}
    for name, neutral in NEUTRAL_FEATURES.items():
        if not np.isfinite(f[name]):
            out[name] = neutral
    return out


# The family scores' soft cut-offs: name -> (centre, width) of a logistic step, in the unit of the
# feature it reads (leg lengths, degrees, shares of frames). Hand-set and checked on
# bench/accuracy.py's rendered matrix ("family recognised") and bench/real_clips.py (family right /
# abstained / wrong): re-run both after a change (history: bench/README.md).
CUTS: dict[str, tuple[float, float]] = {
    "hips_above_standing_leg": (1.27, 0.03),   # hip_height_top_leg: on a support
    "hip_rise_leg": (0.22, 0.04),
    "foot_up_typical_leg": (0.15, 0.04),       # a foot up on the support much of the time
    "knees_move_deg": (45.0, 8.0),
    "feet_close_leg": (0.62, 0.06),            # sep_active_leg, below
    "feet_still_leg": (0.25, 0.05),            # foot_excursion_leg, below
    "foot_travels_leg": (0.35, 0.05),          # foot_excursion_leg, above: one foot goes far and returns
    "feet_wide_leg": (0.40, 0.06),             # sep_peak_leg
    "both_knees_bent_deg": (52.0, 7.0),        # knee_min_at_sep_deg
    "bent_leg_travels_more_leg": (0.0, 0.08),  # travel_bent_leg - travel_straight_leg
    "feet_down_leg": (0.10, 0.03),             # foot_up_active_leg, below
    "knees_together": (0.65, 0.08),            # knee_ratio_active
    "hip_between_feet": (0.28, 0.04),          # weight on both feet
    "hips_over_one_foot": (0.2, 0.03),         # hip_to_support_leg, below
    "wide_lateral_stance": (0.8, 0.1),         # sep_lateral_at_sep
    "one_knee_at_a_time": (0.5, 0.1),          # knee_ratio_active, below
    "knees_co_move_deg": (30.0, 8.0),
    "reach_from_squat": (REACH_KNEE_LEAD, 0.05),  # knee_lead: the free foot never took a step
    "split_knee_bent_deg": (45.0, 8.0),        # knee_min_active_deg
    "foot_ahead_leg": (0.45, 0.06),            # sep_anterior_at_sep
    "feet_grounded_apart": (0.7, 0.08),        # feet_grounded_at_sep: not a knee raise
    "reach_touches_down_leg": (0.2, 0.04),     # foot_up_at_sep_leg, below
    "squat_load_on_one_foot": (0.15, 0.02),    # hip_to_support_leg, below
    "single_leg_knee_deg": (35.0, 8.0),
    "free_foot_up_leg": (0.04, 0.015),         # foot_up_active_leg
    "free_foot_stays_leg": (0.45, 0.05),       # foot_excursion_leg, below
    "sebt_knee_deg": (20.0, 8.0),
}
# How much hips over one foot take off a squat's score.
SQUAT_ONE_FOOT_PENALTY = 0.7
# Neutral values of the features a clip cannot measure.
NEUTRAL_FEATURES = {"hip_between_feet": 0.25, "hip_to_support_leg": 0.2, "knee_lead": 0.65}
# A lunge is lateral when its feet are apart sideways by this many times the front-back gap,
# and by more than this many leg lengths.
LATERAL_LUNGE_RATIO, LATERAL_LUNGE_MIN_LEG = 1.5, 0.5


def _above(value: float, cut: str) -> float:
    centre, width = CUTS[cut]
    return sigmoid((value - centre) / width)


def _below(value: float, cut: str) -> float:
    centre, width = CUTS[cut]
    return sigmoid((centre - value) / width)


def score_families(f: dict[str, float]) -> dict[str, float]:
    # hips clearly above standing height: absolute (no floor-standing frames needed) or relative
    # to the clip's own standing height
    hips_up = max(_above(f["hip_height_top_leg"], "hips_above_standing_leg"), _above(f["hip_rise_leg"], "hip_rise_leg"))
    step = hips_up * _above(f["foot_up_typical_leg"], "foot_up_typical_leg")
    not_step = 1.0 - step
    knees_move = _above(f["knee_peak_deg"], "knees_move_deg")
    close = _below(f["sep_active_leg"], "feet_close_leg")
    still_feet = _below(f["foot_excursion_leg"], "feet_still_leg")     # feet stay where they are
    feet_travel = _above(f["foot_excursion_leg"], "foot_travels_leg")  # one foot goes far and returns
    wide = _above(f["sep_peak_leg"], "feet_wide_leg")
    both_bent = _above(f["knee_min_at_sep_deg"], "both_knees_bent_deg")
    bent_moves = _above(f["travel_bent_leg"] - f["travel_straight_leg"], "bent_leg_travels_more_leg")
    feet_down = _below(f["foot_up_active_leg"], "feet_down_leg")
    together = _above(f["knee_ratio_active"], "knees_together")
    between = _above(f["hip_between_feet"], "hip_between_feet")            # weight on both feet
    over_one = _below(f["hip_to_support_leg"], "hips_over_one_foot")       # hips over one foot
    # lateral lunge from a wide stance: feet stay put, one knee at a time bends
    lateral_shift = (still_feet * _above(f["sep_lateral_at_sep"], "wide_lateral_stance")
                     * _below(f["knee_ratio_active"], "one_knee_at_a_time"))
    co_move = _above(f["knee_co_move_deg"], "knees_co_move_deg")
    reach_from_squat = _above(f["knee_lead"], "reach_from_squat")         # the free foot never took a step
    split_bend = (_above(f["knee_min_active_deg"], "split_knee_bent_deg") * co_move
                  * _above(f["sep_anterior_at_sep"], "foot_ahead_leg"))    # one foot ahead of the other
    grounded = _above(f["feet_grounded_at_sep"], "feet_grounded_apart")  # both feet down while apart
    touches = _below(f["foot_up_at_sep_leg"], "reach_touches_down_leg")  # the reach foot comes down to the floor
    return {
        # a squat shares the load between the feet: hips well over one foot points to one leg
        "squat": round(knees_move * close * still_feet * feet_down * together * not_step
                       * (1 - SQUAT_ONE_FOOT_PENALTY * _below(f["hip_to_support_leg"], "squat_load_on_one_foot")), 3),
        "single_leg_squat": round(_above(f["knee_peak_deg"], "single_leg_knee_deg") * over_one
                                  * _above(f["foot_up_active_leg"], "free_foot_up_leg")
                                  * _below(f["foot_excursion_leg"], "free_foot_stays_leg") * not_step, 3),
        # stepping lunges (feet travel) and split squats (feet planted apart, both knees bend)
        # (a lateral lunge shifts the hips over the bending leg: no weight-between-the-feet test)
        "lunge": round(knees_move * wide * min(1.0, between * (feet_travel * (both_bent + (1 - both_bent) * bent_moves)
                                                               * (1 - reach_from_squat) + still_feet * split_bend)
                                               + lateral_shift) * grounded * not_step, 3),
        "step_up": round(step, 3),
        # balance on one leg (hips stay over the stance foot) while the other foot travels far
        # and returns, and touches down; whether the reaching knee bends does not matter. The
        # reach is the foot's excursion (feet_travel), not the distance between the feet: a
        # posterolateral reach crosses behind the stance foot
        "sebt": round(_above(f["knee_peak_deg"], "sebt_knee_deg") * feet_travel
                      * max(1 - between, reach_from_squat) * touches * not_step, 3),
    }


def exercise_for(family: str, f: dict[str, float]) -> str:
    """The registry exercise a recognised family is analysed as (the variant comes from the reps)."""
    lateral = f["sep_lateral_at_sep"]
    if (family == "lunge" and lateral > LATERAL_LUNGE_RATIO * f["sep_anterior_at_sep"]
            and lateral > LATERAL_LUNGE_MIN_LEG):
        return "lateral_lunge"
    return FAMILY_DEFAULT[family]


def verified_share(ctx: MovementContext, name: str) -> float:
    """Share of the reps `name`'s driver finds that show the exercise's defining pattern (0 if none)."""
    ex = ex_registry.create(name)
    segs = segment(ctx.t, ex.driver(ctx), ex.params(ctx))
    ok = 0
    for seg in segs:
        ok += ex.pattern_fault(ctx, seg) is None
        ex.prev_end = seg.end
    return ok / len(segs) if segs else 0.0


def recognize(ctx: MovementContext) -> Recognition:
    """Family scores from the clip's features, each scaled by the share of its reps that show the
    family's pattern; confidence = winner x its share of winner + runner-up."""
    f = features(ctx)
    scores = score_families(f)
    shares = {fam: verified_share(ctx, exercise_for(fam, f)) if sc >= CANDIDATE_SCORE else 0.0
              for fam, sc in scores.items()}
    scores = {fam: round(sc * shares[fam], 3) for fam, sc in scores.items()}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, s1), (_, s2) = ranked[0], ranked[1]
    # the reps show the family's pattern (share), the clip's features point to it clearly
    # enough (a full score from FEATURES_CLEAR on), and no other family comes close
    conf = shares[best] * min(1.0, s1 / FEATURES_CLEAR) * s1 / (s1 + s2 + 1e-6) if s1 > 0 else 0.0
    if conf < MIN_CONFIDENCE:
        return Recognition("unknown", "unknown", None, scores, f, closest=best if s1 > 0 else None)
    return Recognition(best, exercise_for(best, f), round(float(conf), 2), scores, f, closest=best)


def refine_variant(family: str, name: str, reps: list) -> str:
    """Pick the exercise variant from what the reps show (majority over complete reps)."""
    if not reps:
        return name
    if family == "lunge" and name != "lateral_lunge":
        dirs = [r.direction for r in reps if r.direction]
        if dirs:
            top = Counter(dirs).most_common(1)[0][0]        # a tie goes to the earlier rep's pattern
            name = {"forward": "forward_lunge", "reverse": "reverse_lunge", "static": "split_squat",
                    "walking": "walking_lunge", "lateral": "lateral_lunge"}.get(top, name)
        kd = np.mean([bool(r.metrics.get("knee_drive")) for r in reps])
        oh = np.mean([bool(r.metrics.get("overhead_press")) for r in reps])
        if name == "reverse_lunge" and kd >= 0.5:
            name = "runners_lunge_press" if oh >= 0.5 else "runners_lunge"
    if family == "step_up":
        kd = np.mean([bool(r.metrics.get("knee_drive")) for r in reps])
        name = "step_up_knee_drive" if kd >= 0.5 else "step_up"
    return name
