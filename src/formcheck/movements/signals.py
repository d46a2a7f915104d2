"""Small NaN-aware signal helpers shared by recognition, segmentation and metrics."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def fill_gaps(t: np.ndarray, x: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate interior NaN runs no longer than max_gap_s; longer runs and edges stay NaN."""
    x = np.asarray(x, dtype=float).copy()
    bad = ~np.isfinite(x)
    if not bad.any() or bad.all():
        return x
    n = len(x)
    i = 0
    while i < n:
        if not bad[i]:
            i += 1
            continue
        j = i
        while j < n and bad[j]:
            j += 1
        if i > 0 and j < n and (t[j] - t[i - 1]) <= max_gap_s + 1e-9:
            x[i:j] = np.interp(t[i:j], [t[i - 1], t[j]], [x[i - 1], x[j]])
        i = j
    return x


def smooth(t: np.ndarray, x: np.ndarray, window_s: float) -> np.ndarray:
    """Centred moving average over window_s seconds, ignoring NaN (NaN stays NaN)."""
    x = np.asarray(x, dtype=float)
    if len(x) < 3 or window_s <= 0:
        return x.copy()
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    half = max(int(round(window_s / dt / 2)), 0)
    if half == 0:
        return x.copy()
    ok = np.isfinite(x)
    xs = np.where(ok, x, 0.0)
    k = np.ones(2 * half + 1)
    num = np.convolve(xs, k, mode="same")
    den = np.convolve(ok.astype(float), k, mode="same")
    out = np.where(den > 0, num / np.maximum(den, 1e-12), np.nan)
    out[~ok] = np.nan
    return out


def nanpct(x: np.ndarray, q: float, default: float = np.nan) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if x.size else default


def nanmax(x: npt.ArrayLike) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.nanmax(x)) if np.isfinite(x).any() else float("nan")


def nanmin(x: npt.ArrayLike) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.nanmin(x)) if np.isfinite(x).any() else float("nan")


def at(x: np.ndarray, i: int, half: int = 1) -> float:
    """Median of x around index i (NaN-aware)."""
    lo, hi = max(i - half, 0), min(i + half + 1, len(x))
    seg = np.asarray(x[lo:hi], dtype=float)
    seg = seg[np.isfinite(seg)]
    return float(np.median(seg)) if seg.size else float("nan")


def clean(v: float | None, nd: int = 1) -> float | None:
    """Round for the report; NaN/inf -> None."""
    if v is None:
        return None
    v = float(v)
    return round(v, nd) if np.isfinite(v) else None


def sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))
