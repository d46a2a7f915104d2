"""Segmentation of constructed driver signals: hysteresis, pauses, partial reps, noise, gaps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formcheck.movements.segment import CUT_END, CUT_GAP, CUT_START, SHALLOW, SegmentParams, segment
from movement_fixtures import rep_phase

FPS = 30
KNEE = SegmentParams(min_range=30.0)


def knee_signal(n=5, rep_s=3.0, depth=100.0, pause_s=0.0, depths=None, fps=FPS, stand=5.0, time_scale=1.0):
    rep_s *= time_scale
    pause_s *= time_scale
    t = np.arange(0, n * rep_s + 2.0 * time_scale, 1 / fps)
    starts = [1.0 * time_scale + i * rep_s for i in range(n)]
    move = (rep_s - pause_s - 0.8 * time_scale) / 2
    ph = rep_phase(t, starts, down_s=move, pause_s=pause_s, up_s=move, depths=depths)
    return t, stand + depth * ph


def test_clean_reps_counted_with_ordered_events():
    t, x = knee_signal(n=5)
    segs = segment(t, x, KNEE)
    assert len(segs) == 5
    for s in segs:
        assert s.start < s.plateau_start <= s.peak <= s.plateau_end < s.end
        assert s.complete
        assert x[s.peak] == pytest.approx(105.0, abs=2)
    # reps do not overlap
    assert all(a.end <= b.start for a, b in zip(segs, segs[1:]))


def test_pause_at_bottom_is_one_rep_with_pause_duration():
    t, x = knee_signal(n=3, rep_s=5.0, pause_s=2.0)
    segs = segment(t, x, KNEE)
    assert len(segs) == 3
    for s in segs:
        assert t[s.plateau_end] - t[s.plateau_start] >= 1.8


def test_wobble_during_pause_does_not_split_rep():
    t, x = knee_signal(n=2, rep_s=6.0, pause_s=3.0)
    # +-8 deg oscillation while paused at the bottom (hovering), 2 Hz
    bottom = x > 95
    x = x + np.where(bottom, 8 * np.sin(2 * np.pi * 2 * t), 0)
    assert len(segment(t, x, KNEE)) == 2


def test_hovering_around_enter_threshold_adds_no_reps():
    t, x = knee_signal(n=3)
    # after the reps, hover at 50 deg +- 6 (around the enter threshold) for 4 s
    t2 = np.arange(t[-1] + 1 / FPS, t[-1] + 4, 1 / FPS)
    x2 = 50 + 6 * np.sin(2 * np.pi * 3 * t2)
    segs = segment(np.r_[t, t2], np.r_[x, x2], KNEE)
    assert [s.complete for s in segs] == [True, True, True, False]
    assert segs[3].partial_reason == CUT_END      # one held half-squat the clip ends in, not several


def test_half_rep_is_flagged_partial_not_dropped():
    """Documented behaviour: a rep reaching >= enter threshold but < 60 % of the median
    excursion is kept as complete=False (flagged, excluded from averages)."""
    t, x = knee_signal(n=5, depths=[1, 1, 0.5, 1, 1])
    segs = segment(t, x, KNEE)
    assert len(segs) == 5
    assert [s.complete for s in segs] == [True, True, False, True, True]


def test_clip_starting_at_the_bottom_gives_a_partial_first_rep():
    """The rest posture before the first rep was never seen: the rep is cut by the clip's start."""
    t, x = knee_signal(n=4)
    i0 = int(np.argmax(x[: int(3 * FPS)]))            # the first rep's bottom
    segs = segment(t[i0:] - t[i0], x[i0:], KNEE)
    assert len(segs) == 4
    assert (segs[0].complete, segs[0].partial_reason) == (False, CUT_START)
    assert all(s.complete and s.partial_reason is None for s in segs[1:])


def test_clip_starting_standing_keeps_the_first_rep():
    t, x = knee_signal(n=4)
    segs = segment(t[10:] - t[10], x[10:], KNEE)      # 0.3 s of standing left before rep 1
    assert [s.complete for s in segs] == [True] * 4


def test_rep_cut_by_the_clip_end_is_listed_partial():
    t, x = knee_signal(n=4)
    keep = np.searchsorted(t, 11.6)                  # rep 4 (starts at 10 s) ends before its ascent
    segs = segment(t[:keep], x[:keep], KNEE)
    assert len(segs) == 4
    assert [s.partial_reason for s in segs] == [None, None, None, CUT_END]


def test_rep_cut_by_a_long_gap_is_one_partial_rep():
    t, x = knee_signal(n=4)
    i0 = np.searchsorted(t, 7.6)
    x[i0:i0 + 30] = np.nan                           # 1 s unseen around rep 3's bottom (7-9.2 s)
    segs = segment(t, x, KNEE)
    assert [s.partial_reason for s in segs] == [None, None, CUT_GAP, None]
    assert segs[2].start < i0 < i0 + 30 < segs[2].end


def test_shallow_rep_has_its_reason():
    t, x = knee_signal(n=5, depths=[1, 1, 0.5, 1, 1])
    assert [s.partial_reason for s in segment(t, x, KNEE)] == [None, None, SHALLOW, None, None]


def test_tiny_dip_is_not_a_rep():
    t, x = knee_signal(n=4, depths=[1, 1, 0.15, 1])
    segs = segment(t, x, KNEE)
    assert len(segs) == 3


def test_still_subject_gives_no_reps():
    t = np.arange(0, 10, 1 / FPS)
    x = 8 + np.random.default_rng(1).normal(0, 2, len(t))
    assert segment(t, x, KNEE) == []


def test_noise_and_short_nan_gaps_add_no_reps():
    t, x = knee_signal(n=5)
    rng = np.random.default_rng(0)
    x = x + rng.normal(0, 4.0, len(x))
    for a in (40, 95, 200, 333):          # gaps of ~0.3 s, one right at a bottom
        x[a:a + 9] = np.nan
    segs = segment(t, x, KNEE)
    assert len(segs) == 5


def test_long_gap_drops_only_the_unseen_rep():
    t, x = knee_signal(n=5)
    i0 = np.searchsorted(t, 6.9)
    x[i0:i0 + 60] = np.nan             # 2 s blind spot over rep 3's bottom
    segs = segment(t, x, KNEE)
    assert len(segs) == 4


def test_spike_shorter_than_min_duration_ignored():
    t, x = knee_signal(n=3)
    i = np.searchsorted(t, t[-1] - 0.5)
    x[i:i + 3] = 110                     # 0.1 s glitch
    assert len(segment(t, x, KNEE)) == 3


def test_alternating_sides_each_rep_separate():
    """Alternating lunges: the driver (less-bent knee) returns to standing between legs."""
    t, x = knee_signal(n=6, rep_s=2.5, depth=85)
    assert len(segment(t, x, KNEE)) == 6


def test_back_to_back_reps_without_full_stand_still_split_by_hysteresis():
    t, x = knee_signal(n=4, rep_s=2.0, depth=100)
    x = np.maximum(x, 30.0)              # never straightens fully: stays 25 deg above rest
    assert len(segment(t, x, KNEE)) == 4


@settings(max_examples=40, deadline=None)
@given(noise=st.floats(0.0, 3.0), seed=st.integers(0, 10_000), n=st.integers(1, 6))
def test_property_rep_count_invariant_to_small_noise(noise, seed, n):
    t, x = knee_signal(n=n)
    clean_count = len(segment(t, x, KNEE))
    noisy = x + np.random.default_rng(seed).normal(0, noise, len(x))
    assert clean_count == n
    assert len(segment(t, noisy, KNEE)) == clean_count


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(0.6, 2.5), n=st.integers(1, 5), fps=st.sampled_from([24, 30, 60]))
def test_property_rep_count_invariant_to_time_scaling(scale, n, fps):
    t, x = knee_signal(n=n, time_scale=scale, fps=fps)
    assert len(segment(t, x, KNEE)) == n
