"""Where the feet are on the floor: the evidence that tells a rep from a set-up step.

Positions are image points (the camera is static, so the image shows which foot left its place;
MediaPipe's world coordinates move with the hips), in leg lengths.
"""

from __future__ import annotations

import numpy as np

from formcheck.movements.context import MovementContext, other
from formcheck.movements.signals import nanpct

MOVED_FOOT_MIN = 0.25         # leg lengths a foot must travel to count as a stepping foot
MOVED_FOOT_MIN_FRONT = 0.10   # same in a front/oblique view (seen only through perspective)
# A foot this much higher (leg lengths) relative to the other than at rest is off its support:
# above the jitter of planted feet in the image (~0.05), below a knee lift (thigh at 45 deg:
# ~0.15-0.2). Side view only: from the front a foot stepping away rises in the image just as a
# lifted one does, and MediaPipe's world landmarks put two planted feet of a real oblique lunge
# up to 0.45 leg lengths apart in height.
FOOT_LIFT_MAX = 0.15


# Order of events when the feet get wide: the share of the movement's peak knee flexion already
# reached. A lunge steps and then goes down (~0-0.4: the knees bend on the planted feet); an
# mSEBT reach glides out of the stance-leg squat and never takes the weight (~0.85-1). Above this
# the foot reached rather than stepped (side view, where knee angle and stance are in the image).
REACH_KNEE_LEAD = 0.8


def moved_min(ctx: MovementContext) -> float:
    return MOVED_FOOT_MIN if ctx.view.view == "sagittal" else MOVED_FOOT_MIN_FRONT


def feet_at(ctx: MovementContext, i: int, half: int = 2) -> dict[str, np.ndarray]:
    """Image position of each foot around frame i (median of i +- half). In a side view a foot the
    model did not see while the other was seen is hidden behind it: it takes the other's place."""
    lo, hi = max(i - half, 0), i + half + 1
    with np.errstate(all="ignore"):
        p = {s: np.nanmedian(ctx.foot_point_xy(s)[lo:hi], axis=0) for s in ("left", "right")}
    if ctx.view.view == "sagittal":
        for s in p:
            if not np.isfinite(p[s]).all() and np.isfinite(p[other(s)]).all():
                p[s] = p[other(s)]
    return p


def feet_travel(ctx: MovementContext, a: int, b: int) -> dict[str, float]:
    """Travel of each foot (named by its label at frame b) between frames a and b, leg lengths;
    from the front a step shows through perspective.

    If the model swapped the left/right leg labels in between (both feet "jump" to where the
    other one was), the swapped pairing is used so a label swap does not look like a step."""
    pa, pb = feet_at(ctx, a), feet_at(ctx, b)
    L = ctx.leg_length_px["ref"]
    same = {s: np.linalg.norm(pb[s] - pa[s]) / L for s in pa}
    swap = {s: np.linalg.norm(pb[s] - pa[other(s)]) / L for s in pa}
    tot_same, tot_swap = np.nansum(list(same.values())), np.nansum(list(swap.values()))
    use = swap if np.isfinite(tot_swap) and tot_swap < 0.5 * tot_same else same
    return {k: (float(v) if np.isfinite(v) else 0.0) for k, v in use.items()}


def feet_apart(ctx: MovementContext) -> np.ndarray:
    """(T,) distance between the feet, leg lengths (`foot_offset` total); in a side view 0 where
    one foot is hidden and the other seen (it is behind the other: the feet are together)."""
    d = ctx.foot_offset("left", "right")["total"]
    if ctx.view.view != "sagittal":
        return d
    seen = {s: np.isfinite(ctx.foot_point_xy(s)).all(axis=1) for s in ("left", "right")}
    return np.where(seen["left"] ^ seen["right"], 0.0, d)


def feet_height_diff(ctx: MovementContext) -> np.ndarray:
    """(T,) left foot's height minus the right's (image, each over its own floor line), leg
    lengths; NaN outside a side view (see FOOT_LIFT_MAX)."""
    if ctx.view.view != "sagittal":
        return np.full(len(ctx.t), np.nan)
    return ctx.foot_height("left") - ctx.foot_height("right")


def foot_lift(ctx: MovementContext, frames: slice, rest: list[int]) -> float:
    """How much one foot rose relative to the other over `frames` compared with the `rest` frames
    (each +- 2; the clip's median if none), leg lengths: a foot off its support. Relative, so a
    rear foot standing on a bench throughout is not "lifted". NaN outside a side view."""
    dh = feet_height_diff(ctx)
    n = len(dh)
    idx = [j for i in rest for j in range(max(i - 2, 0), min(i + 3, n))]
    base = nanpct(dh[idx], 50) if idx else nanpct(dh, 50)
    return abs(nanpct(dh[frames], 50) - base)
