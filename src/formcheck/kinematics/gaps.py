"""Gaps: unseen landmarks become NaN; short gaps are interpolated, long ones stay gaps.

A short dropout (a blink of the detector, a hand passing the knee) carries no movement worth
reporting, so bridging it linearly keeps reps intact. A long one could hide anything, so it is
never invented. Durations are measured on the timestamps, so variable frame rate is handled.
"""

from __future__ import annotations

import numpy as np


def contiguous_runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the runs of True in a 1-D boolean array."""
    v = np.asarray(valid, dtype=bool).ravel()
    if v.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], v.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist()))


def mask_invisible(values: np.ndarray, visibility: np.ndarray, threshold: float) -> np.ndarray:
    """Copy of values (T, N, ...) with NaN wherever visibility (T, N) is below threshold."""
    out = np.array(values, dtype=float, copy=True)
    vis = np.asarray(visibility, dtype=float)
    hidden = ~(vis >= threshold)  # NaN visibility counts as hidden
    out[hidden] = np.nan
    return out


def _frame_interval(time_s: np.ndarray) -> float:
    d = np.diff(time_s)
    d = d[np.isfinite(d) & (d > 0)]
    return float(np.median(d)) if d.size else 0.0


def fillable_gaps(valid: np.ndarray, time_s: np.ndarray, max_gap_s: float) -> np.ndarray:
    """(T,) bool: missing samples inside a gap short enough to interpolate.

    A gap's duration is the time without data, t_after - t_before minus one (median) frame
    interval, which equals n_missing x dt at a constant rate: a 0.2 s gap at 30 fps is 6
    missing frames. Gaps touching either end of the series are never filled (no extrapolation).
    """
    valid = np.asarray(valid, dtype=bool)
    t = np.asarray(time_s, dtype=float)
    out = np.zeros(valid.shape, dtype=bool)
    dt = _frame_interval(t)
    for start, stop in contiguous_runs(~valid):
        if start == 0 or stop == len(valid):
            continue
        duration = t[stop] - t[start - 1] - dt
        if duration <= max_gap_s + 1e-9:
            out[start:stop] = True
    return out


def fill_gaps(values: np.ndarray, time_s: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate (in time) NaN gaps up to max_gap_s along axis 0 of values (T, ...).

    Each column is handled on its own NaN pattern; columns sharing a pattern (x and y of one
    landmark) are processed together.
    """
    arr = np.array(values, dtype=float, copy=True)
    t = np.asarray(time_s, dtype=float)
    if arr.shape[0] != t.shape[0]:
        raise ValueError(f"values has {arr.shape[0]} samples, time_s {t.shape[0]}")
    if arr.shape[0] < 3:
        return arr
    flat = arr.reshape(arr.shape[0], -1)
    nan = np.isnan(flat)
    groups: dict[bytes, list[int]] = {}
    for c in np.flatnonzero(nan.any(axis=0) & ~nan.all(axis=0)):
        groups.setdefault(np.packbits(nan[:, c]).tobytes(), []).append(int(c))
    for cols in groups.values():
        valid = ~nan[:, cols[0]]
        fill = fillable_gaps(valid, t, max_gap_s)
        if not fill.any():
            continue
        tv = t[valid]
        for col in cols:
            flat[fill, col] = np.interp(t[fill], tv, flat[valid, col])
    return flat.reshape(arr.shape)
