"""Visibility masking, gap filling by time, contiguous runs."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.kinematics.gaps import contiguous_runs, fill_gaps, fillable_gaps, mask_invisible


def test_contiguous_runs():
    v = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    assert contiguous_runs(v) == [(1, 3), (5, 6), (7, 10)]
    assert contiguous_runs(np.zeros(4, bool)) == []
    assert contiguous_runs(np.ones(3, bool)) == [(0, 3)]
    assert contiguous_runs(np.zeros(0, bool)) == []


def test_mask_invisible_only_hides_low_visibility():
    xy = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)
    vis = np.array([[0.9, 0.2, 0.5], [np.nan, 1.0, 0.49]])
    out = mask_invisible(xy, vis, 0.5)
    hidden = np.isnan(out).all(axis=-1)
    assert hidden.tolist() == [[False, True, False], [True, False, True]]
    assert not np.isnan(xy).any()  # input untouched


def _gap_series(fps: float, gap_s: float, n: int = 90, start: int = 30):
    t = np.arange(n) / fps
    x = np.sin(t)[:, None] * np.array([1.0, 2.0])
    k = int(round(gap_s * fps))
    x[start : start + k] = np.nan
    return t, x, slice(start, start + k)


def test_short_gap_filled_long_gap_kept():
    t, x, gap = _gap_series(30, 0.2)
    y = fill_gaps(x, t, 0.25)
    assert np.isfinite(y).all()
    # Linear in time between the neighbours.
    a, b = gap.start - 1, gap.stop
    expected = x[a] + (x[b] - x[a]) * ((t[gap] - t[a]) / (t[b] - t[a]))[:, None]
    np.testing.assert_allclose(y[gap], expected)
    t, x, gap = _gap_series(30, 0.5)
    y = fill_gaps(x, t, 0.25)
    assert np.isnan(y[gap]).all()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x))


def test_gap_at_either_end_is_not_extrapolated():
    t = np.arange(30) / 30
    x = np.linspace(0, 1, 30)
    x[:2] = np.nan
    x[-2:] = np.nan
    y = fill_gaps(x, t, 0.25)
    assert np.isnan(y[:2]).all() and np.isnan(y[-2:]).all()


def test_gap_duration_is_measured_in_time_not_frames():
    # 6 missing frames: 0.2 s at 30 fps (filled), 0.4 s at 15 fps (kept).
    for fps, filled in ((30, True), (15, False), (60, True)):
        t = np.arange(60) / fps
        valid = np.ones(60, bool)
        valid[20:26] = False
        assert fillable_gaps(valid, t, 0.25)[20:26].all() == filled


def test_variable_frame_rate_timestamps():
    rng = np.random.default_rng(1)
    dt = rng.uniform(1 / 40, 1 / 20, 120)
    t = np.concatenate([[0.0], np.cumsum(dt)])
    x = 3 * t + 1  # linear in time -> interpolation in time is exact
    x2 = x.copy()
    x2[50:54] = np.nan
    y = fill_gaps(x2, t, 0.25)
    np.testing.assert_allclose(y, x)
    # A long hole in wall-clock time is kept even if it spans few frames.
    t_hole = t.copy()
    t_hole[60:] += 1.0
    x3 = 3 * t_hole + 1
    x3[59:61] = np.nan  # two frames missing, but across a one-second hole
    y = fill_gaps(x3, t_hole, 0.25)
    assert np.isnan(y[59:61]).all()


def test_columns_filled_independently_with_landmark_shape():
    t = np.arange(40) / 30
    x = np.tile(t[:, None, None], (1, 3, 2))
    x[10:13, 0] = np.nan
    x[5:30, 1] = np.nan  # too long
    y = fill_gaps(x, t, 0.25)
    assert np.isfinite(y[:, 0]).all()
    assert np.isnan(y[5:30, 1]).all()
    np.testing.assert_array_equal(y[:, 2], x[:, 2])
    with pytest.raises(ValueError):
        fill_gaps(x, t[:-1], 0.25)
