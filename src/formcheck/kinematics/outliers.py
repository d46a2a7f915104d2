"""Whole-body outliers: frames where the model lost the person but still returned a pose.

The leg-chain checks in swaps.py catch legs that jump; this catches a torso that does: in
splitsquat_bulgarian_side_01 (frames 55-60) the model puts the shoulders below the hips for
a fifth of a second. The trunk of a real person cannot flip or change length that fast, so
such frames become gaps (and short ones are then interpolated from the frames around them).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from formcheck.landmarks import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER

# A trunk that turns this far from the trunk of the surrounding second is not a real trunk.
MAX_TRUNK_TURN_DEG = 60.0
# ... nor one whose length changes by more than this factor.
MAX_TRUNK_LENGTH_RATIO = 1.8
WINDOW_S = 1.0


def implausible_trunk_frames(image_xy: np.ndarray, time_s: np.ndarray) -> np.ndarray:
    """(T,) bool: frames whose trunk vector disagrees with the rolling median of the trunk."""
    p = np.asarray(image_xy, dtype=float)
    trunk = (p[:, LEFT_SHOULDER] + p[:, RIGHT_SHOULDER]) / 2 - (p[:, LEFT_HIP] + p[:, RIGHT_HIP]) / 2
    ok = ~np.isnan(trunk).any(axis=1)
    out = np.zeros(len(p), dtype=bool)
    if ok.sum() < 5:
        return out
    dt = float(np.median(np.diff(time_s))) if len(time_s) > 1 else 1 / 30
    size = max(3, int(round(WINDOW_S / dt)) | 1)
    idx = np.flatnonzero(ok)
    reference = np.column_stack([median_filter(trunk[idx, k], size=size, mode="nearest") for k in range(2)])
    cur = trunk[idx]
    cos = np.sum(cur * reference, axis=1) / (np.linalg.norm(cur, axis=1) * np.linalg.norm(reference, axis=1) + 1e-9)
    turn = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    ratio = (np.linalg.norm(cur, axis=1) + 1e-9) / (np.linalg.norm(reference, axis=1) + 1e-9)
    bad = (turn > MAX_TRUNK_TURN_DEG) | (ratio > MAX_TRUNK_LENGTH_RATIO) | (ratio < 1 / MAX_TRUNK_LENGTH_RATIO)
    out[idx[bad]] = True
    return out
