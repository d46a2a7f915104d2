"""Property-based tests (hypothesis) of angles, filters, gap filling and segmentation (issue #6, item 5).

tests/kinematics/test_angles.py already checks similarity invariance and the mirror on a constructed side
pose, and tests/movements/test_segment_movements.py rep counts under noise and time scaling; these add
properties over *arbitrary* inputs: random landmark sets, random gap patterns and timestamps,
random rep trains.
"""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from formcheck.kinematics.angles import angles_2d
from formcheck.kinematics.filters import butterworth_lowpass, one_euro_series
from formcheck.kinematics.gaps import contiguous_runs, fill_gaps
from formcheck.landmarks import NUM_LANDMARKS, SIDE_LANDMARKS
from formcheck.movements.segment import SegmentParams, segment

coordinate = st.floats(-2000, 2000, allow_nan=False, allow_infinity=False)
landmark_sets = arrays(np.float64, (NUM_LANDMARKS, 2), elements=coordinate)

# Left <-> right landmark indices (the nose and other unpaired points map to themselves).
SWAP = np.arange(NUM_LANDMARKS)
for _name, _left in SIDE_LANDMARKS["left"].items():
    _right = SIDE_LANDMARKS["right"][_name]
    SWAP[_left], SWAP[_right] = _right, _left
for _left, _right in ((2, 5), (7, 8), (11, 12)):  # eyes, ears, shoulders
    SWAP[_left], SWAP[_right] = _right, _left


def a2d(points: np.ndarray, facing: float) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # degenerate inputs give NaN silently, never a warning
        return {k: float(v[0]) for k, v in angles_2d(points[None], np.array([facing])).items()}


def same(a: float, b: float, tol: float = 1e-6) -> bool:
    if np.isnan(a) or np.isnan(b):
        return np.isnan(a) and np.isnan(b)
    diff = abs(a - b)
    return diff <= tol or abs(diff - 360.0) <= tol  # +180 and -180 are one direction


# --- angles ---------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(points=landmark_sets, facing=st.sampled_from([-1.0, 1.0]))
def test_every_2d_angle_within_its_range(points, facing):
    bounds = {"knee_flexion": (0, 180), "ankle_dorsiflexion": (-90, 90), "pelvic_drop": (-90, 90)}
    for name, value in a2d(points, facing).items():
        low, high = next((b for key, b in bounds.items() if key in name), (-180, 180))
        assert np.isnan(value) or low - 1e-9 <= value <= high + 1e-9, (name, value)


@settings(max_examples=150, deadline=None)
@given(points=landmark_sets, facing=st.sampled_from([-1.0, 1.0]), width=st.floats(0, 4000))
def test_mirrored_image_with_flipped_facing_reads_every_angle_the_same(points, facing, width):
    """A clip filmed from the other side (x -> W - x) is the same movement: every 2D angle, frontal
    ones included, must be unchanged once the facing direction is flipped too."""
    mirrored = points.copy()
    mirrored[:, 0] = width - mirrored[:, 0]
    a, b = a2d(points, facing), a2d(mirrored, -facing)
    for name in a:
        assert same(a[name], b[name], 1e-6 * max(1.0, abs(a[name]) if not np.isnan(a[name]) else 1.0)), \
            (name, a[name], b[name])


@settings(max_examples=150, deadline=None)
@given(points=landmark_sets, facing=st.sampled_from([-1.0, 1.0]))
def test_swapping_left_and_right_labels_swaps_the_sides(points, facing):
    """Left/right symmetry of the definitions: the left value of the relabelled person is the
    right value of the original, for every per-side angle."""
    a, b = a2d(points, facing), a2d(points[SWAP], facing)
    for name in a:
        if name.startswith("left_"):
            other = "right_" + name.removeprefix("left_")
            assert same(b[name], a[other]), (name, b[name], a[other])


@settings(max_examples=100, deadline=None)
@given(points=landmark_sets, facing=st.sampled_from([-1.0, 1.0]), angle=st.floats(-180, 180),
       scale=st.floats(0.01, 100), shift=st.tuples(coordinate, coordinate))
def test_joint_angles_invariant_to_camera_roll_zoom_and_pan(points, facing, angle, scale, shift):
    """Knee flexion and FPPA are angles between body segments: a rolled, zoomed or panned image
    (any similarity transform) must not change them."""
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    moved = scale * points @ np.array([[c, s], [-s, c]]) + np.array(shift)
    a, b = a2d(points, facing), a2d(moved, facing)
    for side in ("left", "right"):
        hip, knee, ankle = (points[SIDE_LANDMARKS[side][k]] for k in ("hip", "knee", "ankle"))
        thigh, shank = np.linalg.norm(knee - hip), np.linalg.norm(ankle - knee)
        if min(thigh, shank) < 1.0:  # rounding on a near-zero segment is not a property failure
            continue
        name = f"{side}_knee_flexion_deg"
        assert same(a[name], b[name], 1e-5), (name, a[name], b[name])


# --- filters --------------------------------------------------------------------------------

def timestamps(n: int, fps: float, jitter: float, seed: int) -> np.ndarray:
    dt = np.full(n, 1 / fps) * (1 + jitter * np.random.default_rng(seed).uniform(-1, 1, n))
    return np.cumsum(dt)


@settings(max_examples=80, deadline=None)
@given(value=st.floats(-1e4, 1e4), n=st.integers(0, 200), fps=st.sampled_from([24.0, 30.0, 60.0]),
       jitter=st.floats(0, 0.6), cutoff=st.floats(0.5, 40), seed=st.integers(0, 1000),
       holes=st.lists(st.integers(0, 199), max_size=20))
def test_butterworth_of_a_constant_is_the_constant_and_keeps_the_gaps(value, n, fps, jitter, cutoff, seed, holes):
    t = timestamps(n, fps, jitter, seed)
    x = np.full(n, value)
    x[[h for h in holes if h < n]] = np.nan
    y = butterworth_lowpass(x, t, cutoff)
    assert np.array_equal(np.isnan(y), np.isnan(x))
    assert np.allclose(y[~np.isnan(y)], value, rtol=1e-9, atol=1e-6 * max(1.0, abs(value)))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(4, 150), seed=st.integers(0, 1000), gain=st.floats(-10, 10), offset=st.floats(-1e3, 1e3),
       jitter=st.floats(0, 0.5))
def test_butterworth_is_linear(n, seed, gain, offset, jitter):
    """filter(a x + b) = a filter(x) + b: no hidden state, no clipping, same for VFR resampling."""
    t = timestamps(n, 30.0, jitter, seed)
    x = np.random.default_rng(seed).normal(0, 20, n)
    assert np.allclose(butterworth_lowpass(gain * x + offset, t, 6.0),
                       gain * butterworth_lowpass(x, t, 6.0) + offset, atol=1e-6 * (1 + abs(offset)))


@settings(max_examples=60, deadline=None)
@given(value=st.floats(-1e4, 1e4), n=st.integers(1, 120), jitter=st.floats(0, 0.6), seed=st.integers(0, 1000),
       min_cutoff=st.floats(0.05, 10), beta=st.floats(0, 2))
def test_one_euro_of_a_constant_is_the_constant(value, n, jitter, seed, min_cutoff, beta):
    t = timestamps(n, 30.0, jitter, seed)
    y = one_euro_series(np.full((n, 3), value), t, min_cutoff, beta)
    assert np.allclose(y, value, rtol=1e-12, atol=1e-9)


# --- gaps -----------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(valid=st.lists(st.booleans(), min_size=0, max_size=120), fps=st.sampled_from([24.0, 30.0, 60.0]),
       jitter=st.floats(0, 0.5), seed=st.integers(0, 1000), max_gap_s=st.floats(0, 1.0))
def test_gap_filling_never_invents_beyond_the_max_gap(valid, fps, jitter, seed, max_gap_s):
    valid = np.array(valid, dtype=bool)
    n = len(valid)
    t = timestamps(n, fps, jitter, seed)
    x = np.where(valid, np.random.default_rng(seed).normal(0, 30, n), np.nan)
    y = fill_gaps(x, t, max_gap_s)
    assert np.array_equal(y[valid], x[valid])  # measured samples are never touched
    dt = float(np.median(np.diff(t))) if n > 1 else 0.0
    for start, stop in contiguous_runs(~valid):
        filled = ~np.isnan(y[start:stop])
        assert filled.all() or not filled.any()  # a gap is bridged whole or not at all
        if not filled.any():
            continue
        assert 0 < start and stop < n  # never extrapolated past either end
        assert t[stop] - t[start - 1] - dt <= max_gap_s + 1e-9  # never longer than the limit
        low, high = sorted((x[start - 1], x[stop]))
        assert np.all((y[start:stop] >= low - 1e-9) & (y[start:stop] <= high + 1e-9))  # between its ends


# --- segmentation ---------------------------------------------------------------------------

KNEE = SegmentParams(min_range=30.0)


@st.composite
def rep_trains(draw):
    """A standing level with reps of random depth, duration and spacing, noise and short dropouts."""
    fps = draw(st.sampled_from([24.0, 30.0, 60.0]))
    n_reps = draw(st.integers(0, 6))
    t = np.arange(0, 1.0 + n_reps * 4.0 + 1.0, 1 / fps)
    x = np.full(len(t), draw(st.floats(0, 20)))
    start = 1.0
    for _ in range(n_reps):
        duration = draw(st.floats(0.6, 3.0))
        depth = draw(st.floats(10, 110))
        phase = np.clip((t - start) / duration, 0, 1)
        x += depth * np.sin(np.pi * phase) ** 2
        start += duration + draw(st.floats(0.0, 1.0))
    x += np.random.default_rng(draw(st.integers(0, 1000))).normal(0, draw(st.floats(0, 3)), len(t))
    for hole in draw(st.lists(st.integers(0, len(t) - 1), max_size=5)):
        x[hole : hole + draw(st.integers(1, 8))] = np.nan
    return t, x


@settings(max_examples=80, deadline=None)
@given(train=rep_trains())
def test_reps_never_overlap_and_events_are_ordered(train):
    t, x = train
    segs = segment(t, x, KNEE)
    for seg in segs:
        assert seg.start <= seg.plateau_start <= seg.peak <= seg.plateau_end <= seg.end
        assert seg.excursion >= 0
    for a, b in zip(segs, segs[1:]):
        assert a.end <= b.start, (a, b)


@settings(max_examples=60, deadline=None)
@given(train=rep_trains(), shift_s=st.floats(-1e4, 1e4), offset=st.floats(-200, 200))
def test_segmentation_invariant_to_clock_start_and_signal_offset(train, shift_s, offset):
    """A clip starting at another timestamp, or an angle measured from another zero, has the same reps."""
    t, x = train
    base = [(s.start, s.peak, s.end, s.complete) for s in segment(t, x, KNEE)]
    shifted = [(s.start, s.peak, s.end, s.complete) for s in segment(t + shift_s, x + offset, KNEE)]
    assert shifted == base


def test_rep_trains_produce_reps():
    """The generator is not vacuous: a plain train of deep reps is found."""
    t = np.arange(0, 14, 1 / 30)
    x = 5 + sum(100 * np.sin(np.pi * np.clip((t - s) / 2.0, 0, 1)) ** 2 for s in (1, 4, 7, 10))
    assert len(segment(t, x, KNEE)) == 4
