"""Smoothing of landmark trajectories.

Offline: a zero-lag Butterworth low-pass (forward-backward), the biomechanics standard, so a
filtered angle peaks at the same instant as the movement does. Live: the One Euro filter
(Casiez et al. 2012), causal, smooth at rest and responsive when the landmark moves fast.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from formcheck.kinematics.gaps import contiguous_runs

# Timestamps whose intervals deviate from the median by more than this share are "irregular"
# and the run is resampled to a uniform grid before filtering.
IRREGULAR_TOLERANCE = 0.05
# Runs shorter than this many samples are left unfiltered: there is nothing to smooth over.
MIN_RUN = 4


def _default_padlen(sos: np.ndarray) -> int:
    """scipy.signal.sosfiltfilt's own default padding length for this filter."""
    n_sections = sos.shape[0]
    z = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * (2 * n_sections + 1 - z)


def _filter_block(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    """sosfiltfilt along axis 0 with padding reduced for short runs (see butterworth_lowpass)."""
    padlen = min(_default_padlen(sos), x.shape[0] - 1)
    return sosfiltfilt(sos, x, axis=0, padlen=padlen)


def butterworth_lowpass(
    values: np.ndarray,
    time_s: np.ndarray,
    cutoff_hz: float,
    order: int = 2,
) -> np.ndarray:
    """Zero-lag Butterworth low-pass of values (T, ...) along time, per contiguous non-NaN run.

    `order` is the order of the single pass; running it forward and backward doubles it (a
    2nd-order design gives the 4th-order zero-lag filter of docs/angles.md) and cancels the
    phase lag. Each column's NaN runs are filtered separately so a gap never leaks into data.

    Short runs: a run longer than scipy's default padding is filtered normally; a shorter one
    (>= MIN_RUN samples) is filtered with the padding reduced to the run length - 1, which
    smooths it with slightly larger edge effects; runs under MIN_RUN samples are left as they
    are. Irregular timestamps (variable frame rate): the run is resampled to a uniform grid at
    its median rate, filtered and interpolated back to the original times. If the cut-off is
    at or above the Nyquist frequency the data cannot contain anything to remove and is
    returned unchanged.
    """
    arr = np.array(values, dtype=float, copy=True)
    t = np.asarray(time_s, dtype=float)
    if arr.shape[0] != t.shape[0]:
        raise ValueError(f"values has {arr.shape[0]} samples, time_s {t.shape[0]}")
    if arr.shape[0] < MIN_RUN:
        return arr
    flat = arr.reshape(arr.shape[0], -1)
    nan = np.isnan(flat)
    groups: dict[bytes, list[int]] = {}
    for c in np.flatnonzero(~nan.all(axis=0)):
        groups.setdefault(np.packbits(nan[:, c]).tobytes(), []).append(int(c))
    for cols in groups.values():
        for start, stop in contiguous_runs(~nan[:, cols[0]]):
            if stop - start < MIN_RUN:
                continue
            flat[start:stop, cols] = _filter_run(flat[start:stop, cols], t[start:stop], cutoff_hz, order)
    return flat.reshape(arr.shape)


def _filter_run(x: np.ndarray, t: np.ndarray, cutoff_hz: float, order: int) -> np.ndarray:
    dts = np.diff(t)
    dt = float(np.median(dts))
    if not dt > 0:
        return x
    fs = 1.0 / dt
    if cutoff_hz >= 0.5 * fs:
        return x
    sos = butter(order, cutoff_hz, btype="low", fs=fs, output="sos")
    if np.all(np.abs(dts - dt) <= IRREGULAR_TOLERANCE * dt):
        return _filter_block(x, sos)
    # Variable frame rate: uniform grid at the median rate, filter, back to the real times.
    n = max(int(round((t[-1] - t[0]) / dt)) + 1, 2)
    grid = np.linspace(t[0], t[-1], n)
    xs = np.column_stack([np.interp(grid, t, x[:, c]) for c in range(x.shape[1])])
    if n < MIN_RUN:
        return x
    ys = _filter_block(xs, sos)
    return np.column_stack([np.interp(t, grid, ys[:, c]) for c in range(x.shape[1])])


class OneEuroFilter:
    """Causal One Euro filter (Casiez, Roussel, Vogel 2012) for live landmarks.

    Call it once per sample with the timestamp and an array of any shape (the same shape every
    call): f(t, x) -> smoothed x. Each element is filtered independently. A NaN element outputs
    NaN and resets that element, so after a dropout it restarts from the new measurement
    instead of gliding from a stale position.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.reset()

    def reset(self) -> None:
        self._t: float | None = None
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
        tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff, dtype=float))
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self._x is None or self._x.shape != x.shape:
            self._x = x.copy()
            self._dx = np.where(np.isnan(x), np.nan, 0.0)
            self._t = float(t)
            return x.copy()
        assert self._t is not None  # set with self._x
        dt = float(t) - float(self._t)
        if not dt > 0:
            return self._x.copy()
        self._t = float(t)
        fresh = np.isnan(self._x) & ~np.isnan(x)  # first value after a reset
        with np.errstate(invalid="ignore"):
            dx = (x - self._x) / dt
            a_d = self._alpha(self.d_cutoff, dt)
            dx_hat = a_d * dx + (1 - a_d) * self._dx
            cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
            a = self._alpha(cutoff, dt)
            x_hat = a * x + (1 - a) * self._x
        x_hat = np.where(fresh, x, x_hat)
        dx_hat = np.where(fresh, 0.0, dx_hat)
        # NaN input -> NaN output and NaN state: the element restarts at its next measurement.
        self._x = x_hat
        self._dx = dx_hat
        return x_hat.copy()


def one_euro_series(
    values: np.ndarray, time_s: np.ndarray, min_cutoff: float = 1.0, beta: float = 0.05
) -> np.ndarray:
    """Run a fresh OneEuroFilter over values (T, ...) sample by sample (causal)."""
    f = OneEuroFilter(min_cutoff, beta)
    arr = np.asarray(values, dtype=float)
    out = np.empty_like(arr)
    for i, ti in enumerate(np.asarray(time_s, dtype=float)):
        out[i] = f(ti, arr[i])
    return out
