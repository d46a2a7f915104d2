"""Butterworth zero-lag low-pass and the causal One Euro filter."""

from __future__ import annotations

import warnings

import numpy as np

from formcheck.kinematics.filters import OneEuroFilter, butterworth_lowpass, one_euro_series

FPS = 30.0


def _peaks_near(t, y, t_expected):
    return np.array([t[np.argmax(np.where(np.abs(t - te) < 0.25, y, -np.inf))] for te in t_expected])


def test_butterworth_has_no_lag_and_keeps_slow_motion():
    t = np.arange(0, 4, 1 / FPS)
    x = np.cos(2 * np.pi * 1.0 * t)  # 1 Hz, peaks on frames at 1, 2, 3 s
    y = butterworth_lowpass(x, t, cutoff_hz=6.0, order=2)
    peaks = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(_peaks_near(t, y, peaks), peaks, atol=1e-9)
    # Sub-frame check: a parabola through the three samples around each peak.
    for te in peaks:
        i = int(round(te * FPS))
        a, b, c = y[i - 1 : i + 2]
        assert abs(0.5 * (a - c) / (a - 2 * b + c)) < 1e-3  # offset in frames
    # A causal filter of the same order would lag; the forward-backward one does not.
    inner = slice(15, -15)
    assert np.max(np.abs(y[inner] - x[inner])) < 0.02


def test_butterworth_attenuates_12hz_noise():
    t = np.arange(0, 4, 1 / FPS)
    slow = np.sin(2 * np.pi * 1.0 * t)
    noise = 0.3 * np.sin(2 * np.pi * 12.0 * t)
    y = butterworth_lowpass(slow + noise, t, 6.0, 2)
    inner = slice(20, -20)
    residual = y[inner] - slow[inner]
    assert np.std(residual) < 0.1 * np.std(noise[inner])


def test_butterworth_filters_runs_separately_and_keeps_nan():
    t = np.arange(0, 4, 1 / FPS)
    x = np.where(t < 2, 0.0, 100.0) + 0.0
    x[58:62] = np.nan  # gap exactly at the step
    y = butterworth_lowpass(x, t, 6.0, 2)
    assert np.isnan(y[58:62]).all()
    # Nothing from the 100 level leaks into the first run (a filter across the gap would ring).
    np.testing.assert_allclose(y[:58], 0.0, atol=1e-9)
    np.testing.assert_allclose(y[62:], 100.0, atol=1e-9)


def test_butterworth_short_runs_and_shapes():
    t = np.arange(40) / FPS
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3, 2))
    x[:, 0] = np.nan  # an all-NaN landmark
    x[5:, 1] = np.nan  # a 5-sample run: reduced padding
    x[2:, 2, 0] = np.nan  # a 2-sample run: untouched
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = butterworth_lowpass(x, t, 6.0, 2)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x))
    assert np.all(np.isfinite(y[:5, 1]))
    np.testing.assert_array_equal(y[:2, 2, 0], x[:2, 2, 0])
    # Cut-off above Nyquist: nothing to remove.
    np.testing.assert_array_equal(butterworth_lowpass(x, np.arange(40) / 10.0, 6.0, 2), x)


def test_butterworth_variable_frame_rate_no_lag():
    rng = np.random.default_rng(3)
    t = np.concatenate([[0.0], np.cumsum(rng.uniform(0.6, 1.4, 150) / FPS)])
    x = np.sin(2 * np.pi * 1.0 * t) + 0.2 * rng.normal(size=t.size)
    y = butterworth_lowpass(x, t, 4.0, 2)
    clean = np.sin(2 * np.pi * 1.0 * t)
    inner = (t > 0.5) & (t < t[-1] - 0.5)
    assert np.sqrt(np.mean((y[inner] - clean[inner]) ** 2)) < 0.1
    # Lag estimate: best-fitting shift of the clean sine is ~0.
    shifts = np.linspace(-0.1, 0.1, 81)
    err = [np.mean((y[inner] - np.sin(2 * np.pi * (t[inner] - s))) ** 2) for s in shifts]
    assert abs(shifts[int(np.argmin(err))]) < 0.01


def test_one_euro_is_causal():
    t = np.arange(0, 2, 1 / FPS)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(t.size, 4, 2))
    a = one_euro_series(x, t, 1.0, 0.05)
    x2 = x.copy()
    x2[40:] += 50.0  # change only the future
    b = one_euro_series(x2, t, 1.0, 0.05)
    np.testing.assert_array_equal(a[:40], b[:40])
    assert not np.allclose(a[40:], b[40:])


def test_one_euro_smooths_and_follows():
    t = np.arange(0, 3, 1 / FPS)
    rng = np.random.default_rng(2)
    noisy = 1.0 * rng.normal(size=t.size)
    y = one_euro_series(noisy, t, 1.0, 0.0)
    assert np.std(y[30:]) < 0.5 * np.std(noisy[30:])
    # A step is followed: after 1 s the output is at the new level.
    step = np.where(t < 1, 0.0, 100.0)
    y = one_euro_series(step, t, 1.0, 0.05)
    assert abs(y[-1] - 100.0) < 1.0


def test_one_euro_resets_on_nan():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    assert f(0.0, np.array([0.0, 0.0]))[0] == 0.0
    f(1 / FPS, np.array([0.0, 0.0]))
    out = f(2 / FPS, np.array([np.nan, 0.0]))
    assert np.isnan(out[0]) and out[1] == 0.0
    # After the dropout the element restarts at the new measurement, not gliding from 0.
    out = f(3 / FPS, np.array([10.0, 10.0]))
    assert out[0] == 10.0
    assert 0.0 < out[1] < 10.0
