"""Landmarks -> cleaned landmarks -> joint angles (docs/angles.md), pure numpy/scipy.

Cleaning order (docs/angles.md, "Cleaning before angles"): visibility -> leg-swap correction ->
gap fill -> low-pass (Butterworth offline, One Euro live) -> facing -> angles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from formcheck.config import KinematicsSettings
from formcheck.kinematics.angles import (
    angles_2d,
    angles_3d,
    facing_direction,
    signed_angle_2d,
    unsigned_angle,
)
from formcheck.kinematics.filters import OneEuroFilter, butterworth_lowpass, one_euro_series
from formcheck.kinematics.gaps import contiguous_runs, fill_gaps, mask_invisible
from formcheck.kinematics.outliers import implausible_trunk_frames
from formcheck.kinematics.swaps import SwapResult, correct_leg_swaps, swap_from_times
from formcheck.series import AngleSeries, PoseSeries

Smoothing = Literal["butterworth", "one_euro", "none"]

__all__ = [
    "OneEuroFilter",
    "SwapResult",
    "angles_2d",
    "angles_3d",
    "angles_from_clean",
    "butterworth_lowpass",
    "clean_landmarks",
    "compute_angles",
    "compute_kinematics",
    "contiguous_runs",
    "correct_leg_swaps",
    "facing_direction",
    "fill_gaps",
    "implausible_trunk_frames",
    "mask_invisible",
    "one_euro_series",
    "signed_angle_2d",
    "unsigned_angle",
]


def clean_landmarks(
    series: PoseSeries,
    settings: KinematicsSettings | None = None,
    smoothing: Smoothing = "butterworth",
    manual_swaps_s: Sequence[float] = (),
) -> tuple[PoseSeries, np.ndarray]:
    """The cleaned series (what the angles and the annotated video use) and the swapped frames.

    Steps 1-4 of docs/angles.md. In the result NaN marks a gap; visibility and presence are the
    model's (relabelled with the legs), 0 where a collapsed leg chain was removed.
    `manual_swaps_s`: times from which a person exchanged the leg labels (after the automatic
    correction, before gap filling and smoothing, so the filter never blurs across a wrong label).
    """
    s = settings or KinematicsSettings()
    t = np.asarray(series.time_s, dtype=float)
    # Swap detection reads all positions the model returned (see swaps.py); masking by
    # visibility commutes with relabelling, so the order is that of the spec.
    sw = correct_leg_swaps(
        series.image_xy, series.image_z, series.world_xyz, series.visibility, series.presence, t,
        penalty=s.swap_penalty,
    )
    if manual_swaps_s:
        sw = swap_from_times(sw, t, manual_swaps_s)
    visibility = sw.visibility.copy()
    visibility[implausible_trunk_frames(sw.image_xy, t)] = 0.0
    xy = mask_invisible(sw.image_xy, visibility, s.visibility_min)
    z = mask_invisible(sw.image_z, visibility, s.visibility_min)
    w = mask_invisible(sw.world_xyz, visibility, s.visibility_min)
    xy, z, w = (fill_gaps(a, t, s.max_gap_s) for a in (xy, z, w))
    if smoothing == "butterworth":
        xy = butterworth_lowpass(xy, t, s.cutoff_hz, s.filter_order)
        w = butterworth_lowpass(w, t, s.cutoff_hz, s.filter_order)
    elif smoothing == "one_euro":
        xy = one_euro_series(xy, t, s.one_euro_min_cutoff, s.one_euro_beta)
        w = one_euro_series(w, t, s.one_euro_min_cutoff, s.one_euro_beta)
    elif smoothing != "none":
        raise ValueError(f"unknown smoothing {smoothing!r}")
    cleaned = series.copy_with(
        time_s=t, image_xy=xy, image_z=z, world_xyz=w, visibility=visibility, presence=sw.presence
    )
    return cleaned, sw.swapped_frames


def angles_from_clean(cleaned: PoseSeries, swapped_frames: np.ndarray | None = None) -> AngleSeries:
    """Facing and every angle column from an already cleaned series (step 5)."""
    facing = facing_direction(cleaned.image_xy, cleaned.time_s)
    angles = angles_2d(cleaned.image_xy, facing)
    angles.update(angles_3d(cleaned.world_xyz))
    return AngleSeries(
        time_s=np.asarray(cleaned.time_s, dtype=float),
        angles=angles,
        facing=facing,
        swapped_frames=np.asarray([] if swapped_frames is None else swapped_frames, dtype=int),
    )


def compute_kinematics(
    series: PoseSeries,
    settings: KinematicsSettings | None = None,
    smoothing: Smoothing = "butterworth",
    manual_swaps_s: Sequence[float] = (),
) -> tuple[PoseSeries, AngleSeries]:
    """Cleaned landmarks and their angles: the full docs/angles.md pipeline (see clean_landmarks).

    A series measured on a subset of the frames (`frame_times`, PoseSettings.pose_rate_hz) is
    cleaned on the measured frames, then interpolated to every frame: the result has one row
    per decoded frame either way.
    """
    cleaned, swapped = clean_landmarks(series, settings, smoothing, manual_swaps_s)
    if series.frame_times is not None and len(cleaned) > 1:
        frames = np.asarray(series.frame_times, float)
        step = float(np.median(np.diff(cleaned.time_s)))
        swapped = np.unique(np.searchsorted(frames, cleaned.time_s[swapped] - 1e-6)).astype(int)
        cleaned = cleaned.resampled(frames, max_step_s=1.5 * step)
    return cleaned, angles_from_clean(cleaned, swapped)


def compute_angles(
    series: PoseSeries,
    settings: KinematicsSettings | None = None,
    smoothing: Smoothing = "butterworth",
) -> AngleSeries:
    """Angles only (see compute_kinematics)."""
    return compute_kinematics(series, settings, smoothing)[1]
