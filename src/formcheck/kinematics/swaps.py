"""Left/right leg-label swaps: detect, correct, and refuse to guess when both legs collapse.

MediaPipe labels each leg from one frame's appearance, so when the legs pass or overlap (a side
view of a lunge or step-up) it sometimes hands the left leg chain (knee, ankle, heel, foot
index) the right leg's position and vice versa, for a few frames or for a whole rep. The hips
keep their labels. A swap shows up as both leg chains jumping at once to where the other leg
was, which real legs cannot do between two frames.

Method: a Viterbi decoding over frames of the state "labels swapped relative to raw". The
cost of a frame is how far the corrected leg-chain landmarks land from where a constant
velocity predicts them (in thigh lengths, summed over the 8 landmarks), plus `penalty` for
every change of state, so a relabelling is only accepted when it explains the data much
better. Decoding only fixes where the labels change; which of the two consistent labellings
is "left" is taken from the raw labels on the majority of frames (the model is right most of
the time).

Identity is only carried where the motion can carry it. A new, independently decoded stretch
starts after a pause without pose (> MAX_BRIDGE_S), after the legs stood together (a side view
between reps: nothing tells them apart, so the model's majority decides again), and after a
jump that neither labelling explains (a dropped frame or a very fast step, where tracking
would be a coin flip).

Other failures put both legs onto the same physical leg (the two knees and ankles almost
coincide while the frames around them have the legs clearly apart), or for a few frames
somewhere in between (a jump away and straight back). Those frames' leg chains become gaps
(NaN, visibility 0): the legs were not seen, so nothing is guessed. Real legs also come
together (standing, in a side view), but gradually; a collapse is entered and left with a
jump, which is what the tests look for.

Tuned on real MediaPipe output (samples: reverse lunge, step-ups, split squat, side view):
the spikes and swaps seen there last 1-7 frames.

Detection uses every landmark position the model returned, whatever its visibility: the
model still predicts occluded landmarks, and their continuity is what reveals a swap. This is
equivalent to the order in docs/angles.md (visibility, then swaps), because visibility is
swapped along with the positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from formcheck.kinematics.gaps import contiguous_runs
from formcheck.landmarks import LEG_CHAIN, SIDE_LANDMARKS

LEFT_CHAIN = np.array([SIDE_LANDMARKS["left"][n] for n in LEG_CHAIN])
RIGHT_CHAIN = np.array([SIDE_LANDMARKS["right"][n] for n in LEG_CHAIN])

# Collapse: knees and ankles closer than this (thigh lengths)...
COLLAPSE_CLOSE = 0.15
# ...while the neighbouring frames have them at least this far apart.
COLLAPSE_APART = 0.35
# A few frames whose leg chains jump this far (thigh lengths per landmark, whichever way they
# are labelled) away from the frames around them and straight back are implausible.
OUTLIER_THRESHOLD = 0.25
OUTLIER_MAX_RUN_S = 0.2
# Frames further apart in time than this are not linked (the legs may have moved anywhere).
MAX_BRIDGE_S = 0.5
# Legs within this many thigh lengths for at least this long overlap: identity is not
# tracked through the overlap.
OVERLAP_SEP = 0.25
OVERLAP_MIN_S = 0.2
# Share of the previous velocity carried into the prediction of the next frame.
VELOCITY_WEIGHT = 1.0
# Tracking is lost between two frames when both labellings move the leg chain more than
# LOST_MIN thigh lengths (summed over the 8 landmarks) and the better one is not clearly better.
LOST_MIN = 1.0
LOST_RATIO = 0.7


@dataclass
class SwapResult:
    """Arrays with leg labels corrected (all swapped consistently) and what was changed."""

    image_xy: np.ndarray
    image_z: np.ndarray
    world_xyz: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    swapped_frames: np.ndarray  # frame indices whose leg chains were relabelled
    collapsed_frames: np.ndarray  # frame indices whose leg chains became gaps (collapse, spike)


def swap_leg_chains(values: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Copy of values (T, 33, ...) with the left and right leg chains exchanged on `frames`."""
    out = np.array(values, copy=True)
    f = np.asarray(frames)
    if f.dtype == bool:
        f = np.flatnonzero(f)
    if f.size:
        left = out[f[:, None], LEFT_CHAIN[None, :]].copy()
        out[f[:, None], LEFT_CHAIN[None, :]] = out[f[:, None], RIGHT_CHAIN[None, :]]
        out[f[:, None], RIGHT_CHAIN[None, :]] = left
    return out


def swap_from_times(result: SwapResult, time_s: np.ndarray, from_s: Sequence[float]) -> SwapResult:
    """A person's correction on top of the automatic one: the leg labels exchanged from each time in
    `from_s` on (a second time exchanges them back), so "swap legs from here" fixes what was seen."""
    manual = (np.asarray(time_s, dtype=float)[:, None] >= np.asarray(from_s, dtype=float)[None, :]).sum(axis=1) % 2 == 1
    if not manual.any():
        return result
    auto = np.zeros(len(manual), dtype=bool)
    auto[result.swapped_frames] = True
    xy, z, w, vis, pres = (swap_leg_chains(a, manual) for a in (result.image_xy, result.image_z, result.world_xyz,
                                                                  result.visibility, result.presence))
    return SwapResult(image_xy=xy, image_z=z, world_xyz=w, visibility=vis, presence=pres,
                      swapped_frames=np.flatnonzero(auto ^ manual), collapsed_frames=result.collapsed_frames)


def thigh_scale(image_xy: np.ndarray) -> float:
    """Clip-median thigh length (pixels): the unit of every distance here (scale-free tests)."""
    hips = image_xy[:, [SIDE_LANDMARKS["left"]["hip"], SIDE_LANDMARKS["right"]["hip"]]]
    knees = image_xy[:, [SIDE_LANDMARKS["left"]["knee"], SIDE_LANDMARKS["right"]["knee"]]]
    lengths = np.sqrt(((knees - hips) ** 2).sum(axis=-1)).ravel()
    lengths = lengths[np.isfinite(lengths) & (lengths > 0)]
    return float(np.median(lengths)) if lengths.size else float("nan")


def _leg_separation(image_xy: np.ndarray, scale: float) -> np.ndarray:
    """(T,) larger of the knee-knee and ankle-ankle distances, in thigh lengths."""
    k = image_xy[:, SIDE_LANDMARKS["left"]["knee"]] - image_xy[:, SIDE_LANDMARKS["right"]["knee"]]
    a = image_xy[:, SIDE_LANDMARKS["left"]["ankle"]] - image_xy[:, SIDE_LANDMARKS["right"]["ankle"]]
    with np.errstate(invalid="ignore"):
        return np.maximum(np.hypot(k[:, 0], k[:, 1]), np.hypot(a[:, 0], a[:, 1])) / scale


def detect_collapse(
    image_xy: np.ndarray,
    time_s: np.ndarray,
    close: float = COLLAPSE_CLOSE,
    apart: float = COLLAPSE_APART,
    max_bridge_s: float = MAX_BRIDGE_S,
) -> np.ndarray:
    """(T,) bool: frames where both leg chains sit on one leg (see module docstring).

    A run of frames with the knees and ankles within `close` thigh lengths counts when the
    nearest frames with landmarks before and after it (within `max_bridge_s`) both have them
    more than `apart` apart; a run at the clip's edge or next to a long gap needs only the
    one neighbour it has.
    """
    t = np.asarray(time_s, dtype=float)
    scale = thigh_scale(image_xy)
    out = np.zeros(len(t), dtype=bool)
    if not np.isfinite(scale):
        return out
    sep = _leg_separation(image_xy, scale)
    seen = np.flatnonzero(np.isfinite(sep))
    if seen.size == 0:
        return out
    s = sep[seen]
    ts = t[seen]
    for start, stop in contiguous_runs(s < close):
        neighbours = []
        if start > 0 and ts[start] - ts[start - 1] <= max_bridge_s:
            neighbours.append(s[start - 1])
        if stop < len(s) and ts[stop] - ts[stop - 1] <= max_bridge_s:
            neighbours.append(s[stop])
        if neighbours and all(n > apart for n in neighbours):
            out[seen[start:stop]] = True
    return out


def _chain_pair_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Label-free distance between two frames' leg chains (..., 2, 4, 2): the mean landmark
    distance under the better of the two labellings, so a swap alone costs nothing."""
    def d(x, y):
        return np.sqrt(((x - y) ** 2).sum(axis=-1)).mean(axis=(-1, -2))

    with np.errstate(invalid="ignore"):
        return np.fmin(d(a, b), d(a, b[..., ::-1, :, :]))


def implausible_frames(
    image_xy: np.ndarray,
    time_s: np.ndarray,
    threshold: float = OUTLIER_THRESHOLD,
    max_run_s: float = OUTLIER_MAX_RUN_S,
) -> np.ndarray:
    """(T,) bool: short runs of frames whose leg chains jump away and straight back.

    A run [a, b) of up to `max_run_s` is implausible when, in label-free chain distance
    (thigh lengths per landmark; a swap alone costs nothing), the jump into it and the jump
    out of it both exceed `threshold` and three times the frame-to-frame motion just outside
    it, while the frames on either side agree with each other (distance at most half the
    jumps) and the run hangs together (no step inside it above 0.75 x the larger jump).
    That is the model putting both legs somewhere in between, or one onto the other, for a
    few frames. Legs really crossing at speed do not qualify: their motion before and
    after the crossing is as fast as the "jump".
    """
    p = np.asarray(image_xy, dtype=float)
    t = np.asarray(time_s, dtype=float)
    n = len(t)
    out = np.zeros(n, dtype=bool)
    scale = thigh_scale(p)
    if n < 5 or not np.isfinite(scale):
        return out
    dt = float(np.median(np.diff(t)))
    m = max(1, int(round(max_run_s / dt))) if dt > 0 else 1
    chains = np.stack([p[:, LEFT_CHAIN], p[:, RIGHT_CHAIN]], axis=1) / scale
    step = np.full(n + 1, np.nan)  # step[i] = D(i - 1, i)
    step[1:n] = _chain_pair_distance(chains[1:], chains[:-1])
    for length in range(1, m + 1):
        a = np.arange(2, n - length - 1)
        if a.size == 0:
            break
        b = a + length
        jump_in, jump_out = step[a], step[b]
        motion = np.fmax(step[a - 1], step[b + 1])
        bridge = _chain_pair_distance(chains[a - 1], chains[b])
        # The run must hang together: a jump inside it as large as the way in means two runs.
        inside = np.full(a.shape, 0.0)
        for k in range(1, length):
            inside = np.fmax(inside, step[a + k])
        with np.errstate(invalid="ignore"):
            jump = np.fmin(jump_in, jump_out)
            hit = (
                (jump > threshold)
                & (jump > 3 * motion)
                & (bridge <= 0.5 * jump)
                & (inside <= 0.75 * np.fmax(jump_in, jump_out))
            )
        for start in a[hit]:
            out[start : start + length] = True
    return out


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Summed landmark distance between leg chains (..., 2, 4, D)."""
    return np.sqrt(((a - b) ** 2).sum(axis=-1)).sum(axis=(-1, -2))


def _transition_costs(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Costs of labelling frame after frame; x (N, 2 legs, 4 landmarks, D) in thigh lengths.

    d1[k, a, b]: displacement from state a at frame k to state b at frame k+1.
    e[k, a, b, s]: distance of frame k+2 under state s from the constant-velocity prediction
    made from frames k, k+1 under states a, b.
    """
    n = len(x)
    c = np.stack([x, x[:, ::-1]])  # c[state, frame]: corrected chain under each state
    d1 = np.empty((max(n - 1, 0), 2, 2))
    for a in (0, 1):
        for b in (0, 1):
            d1[:, a, b] = _dist(c[b, 1:], c[a, :-1])
    e = np.empty((max(n - 2, 0), 2, 2, 2))
    if n >= 3:
        dt = np.diff(t)
        ratio = np.where(dt[:-1] > 0, dt[1:] / np.where(dt[:-1] > 0, dt[:-1], 1.0), 1.0)[:, None, None, None]
        for a in (0, 1):
            for b in (0, 1):
                pred = c[b, 1:-1] + VELOCITY_WEIGHT * ratio * (c[b, 1:-1] - c[a, :-2])
                for s in (0, 1):
                    e[:, a, b, s] = _dist(c[s, 2:], pred)
    return d1, e


def _lost_tracking(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(N-1,) bool: transitions into frame k+1 that neither labelling explains.

    Both keeping and exchanging the labels move the leg chain more than LOST_MIN thigh lengths
    from where it was (or from where its velocity predicted), and the better one is not
    clearly better (LOST_RATIO): a dropped frame or a very fast step. Identity is not carried
    across such a jump.
    """
    n = len(x)
    if n < 2:
        return np.zeros(0, dtype=bool)
    d1, e = _transition_costs(x, t)
    keep = np.minimum(d1[:, 0, 0], d1[:, 1, 1])
    swap = np.minimum(d1[:, 0, 1], d1[:, 1, 0])
    if n >= 3:
        # Velocity from the two previous frames labelled alike (either way round).
        keep[1:] = np.minimum(keep[1:], np.minimum(e[:, 0, 0, 0], e[:, 1, 1, 1]))
        swap[1:] = np.minimum(swap[1:], np.minimum(e[:, 0, 0, 1], e[:, 1, 1, 0]))
        # The first transition has no past: predict frame 0 backwards from frames 2 and 1.
        back = 2 * x[1] - x[2]
        keep[0] = min(keep[0], float(_dist(x[0], back)))
        swap[0] = min(swap[0], float(_dist(x[0][::-1], back)))
    lo, hi = np.minimum(keep, swap), np.maximum(keep, swap)
    return (lo > LOST_MIN) & (lo > LOST_RATIO * hi)


def _viterbi_segment(x: np.ndarray, t: np.ndarray, penalty: float) -> np.ndarray:
    """States (N,) 0/1 for one linked stretch; x (N, 2 legs, 4 landmarks, D) in thigh lengths.

    Pair states (s[t-1], s[t]) give a constant-velocity prediction; the cost of a frame is the
    summed distance of the corrected landmarks from their prediction (first-order displacement
    for the second frame) plus `penalty` per change of state.
    """
    n = len(x)
    if n < 2:
        return np.zeros(n, dtype=int)
    d1, e = _transition_costs(x, t)
    pen = penalty * (1 - np.eye(2))  # pen[b, s]
    cost = d1[0] + pen  # cost[a, b] for pair (s0, s1)
    if n == 2:
        a, b = np.unravel_index(np.argmin(cost), cost.shape)
        return np.array([a, b])
    back = np.empty((n - 2, 2, 2), dtype=np.int8)
    for k in range(n - 2):
        total = cost[:, :, None] + e[k]  # [a, b, s]
        back[k] = np.argmin(total, axis=0)
        cost = np.min(total, axis=0) + pen  # [b, s]
    states = np.empty(n, dtype=int)
    b, s = np.unravel_index(np.argmin(cost), cost.shape)
    states[-1], states[-2] = s, b
    for k in range(n - 3, -1, -1):
        a = back[k, states[k + 1], states[k + 2]]
        states[k] = a
    return states


def overlapping_legs(
    image_xy: np.ndarray,
    time_s: np.ndarray,
    sep: float = OVERLAP_SEP,
    min_s: float = OVERLAP_MIN_S,
) -> np.ndarray:
    """(T,) bool: frames in a stretch of at least `min_s` with the knees and ankles within
    `sep` thigh lengths of each other (standing with the legs together in a side view).

    While the legs coincide nothing tells them apart, so their identity is not carried through
    such a stretch: each side of it is labelled by the model's own majority. A brief crossing
    (walking) is shorter and is tracked through.
    """
    t = np.asarray(time_s, dtype=float)
    out = np.zeros(len(t), dtype=bool)
    scale = thigh_scale(image_xy)
    if not np.isfinite(scale):
        return out
    close = _leg_separation(image_xy, scale) < sep
    for start, stop in contiguous_runs(close):
        if t[stop - 1] - t[start] >= min_s:
            out[start:stop] = True
    return out


def decode_swaps(
    image_xy: np.ndarray,
    time_s: np.ndarray,
    penalty: float,
    usable: np.ndarray | None = None,
    max_bridge_s: float = MAX_BRIDGE_S,
) -> np.ndarray:
    """(T,) bool: frames whose leg labels should be exchanged.

    `usable` (T,) restricts decoding to trusted frames (e.g. not collapsed); frames without a
    complete leg chain are skipped. A pause longer than `max_bridge_s`, or a stretch with the
    legs overlapping (see `overlapping_legs`; those frames keep their raw labels), starts a
    new, independently decoded stretch whose labelling again follows the raw majority.
    """
    p = np.asarray(image_xy, dtype=float)
    t = np.asarray(time_s, dtype=float)
    out = np.zeros(len(t), dtype=bool)
    scale = thigh_scale(p)
    if not np.isfinite(scale):
        return out
    chains = np.stack([p[:, LEFT_CHAIN], p[:, RIGHT_CHAIN]], axis=1) / scale  # (T, 2, 4, 2)
    ok = np.isfinite(chains).all(axis=(1, 2, 3))
    if usable is not None:
        ok &= np.asarray(usable, dtype=bool)
    overlap = overlapping_legs(p, t)
    ok &= ~overlap
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    # New stretch after a long pause or after the legs overlapped (identity lost in between).
    passed_overlap = np.diff(np.concatenate([[0], np.cumsum(overlap)])[idx]) > 0
    # ...or after a jump that neither labelling explains (see _lost_tracking).
    lost = _lost_tracking(chains[idx], t[idx])
    breaks = np.flatnonzero((np.diff(t[idx]) > max_bridge_s) | passed_overlap | lost) + 1
    for seg in np.split(idx, breaks):
        states = _viterbi_segment(chains[seg], t[seg], penalty)
        if 2 * states.sum() > len(states):
            states = 1 - states
        out[seg] = states.astype(bool)
    return out


def correct_leg_swaps(
    image_xy: np.ndarray,
    image_z: np.ndarray,
    world_xyz: np.ndarray,
    visibility: np.ndarray,
    presence: np.ndarray,
    time_s: np.ndarray,
    penalty: float = 0.35,
    collapse_close: float = COLLAPSE_CLOSE,
    collapse_apart: float = COLLAPSE_APART,
    outlier_threshold: float = OUTLIER_THRESHOLD,
) -> SwapResult:
    """Detect collapses (-> gaps) and label swaps (-> relabelled) and apply both to every array.

    `penalty` is KinematicsSettings.swap_penalty: thigh lengths, summed over the leg chain.
    """
    collapsed = detect_collapse(image_xy, time_s, collapse_close, collapse_apart)
    collapsed |= implausible_frames(image_xy, time_s, outlier_threshold)
    swapped = decode_swaps(image_xy, time_s, penalty, usable=~collapsed) & ~collapsed
    arrays = [swap_leg_chains(a, swapped) for a in (image_xy, image_z, world_xyz, visibility, presence)]
    xy, z, w, vis, pres = [np.array(a, dtype=float) for a in arrays]
    if collapsed.any():
        rows = np.flatnonzero(collapsed)[:, None]
        cols = np.concatenate([LEFT_CHAIN, RIGHT_CHAIN])[None, :]
        xy[rows, cols] = np.nan
        z[rows, cols] = np.nan
        w[rows, cols] = np.nan
        vis[rows, cols] = 0.0
        pres[rows, cols] = 0.0
    return SwapResult(
        image_xy=xy,
        image_z=z,
        world_xyz=w,
        visibility=vis,
        presence=pres,
        swapped_frames=np.flatnonzero(swapped),
        collapsed_frames=np.flatnonzero(collapsed),
    )

