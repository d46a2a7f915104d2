"""Measuring the pose on a subset of frames (PoseSettings.pose_rate_hz) and filling the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formcheck.config import KinematicsSettings, pose_sample_step
from formcheck.kinematics import compute_kinematics
from formcheck.landmarks import NUM_LANDMARKS
from formcheck.series import PoseSeries
from formcheck.sources import iter_frames, probe

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "lunge_synthetic_side.mp4"


@pytest.mark.parametrize(("rate", "fps", "step"), [(15, 30, 2), (15, 29.97, 2), (15, 60, 4), (15, 25, 1),
                                                   (15, 24, 1), (15, 50, 3), (0, 30, 1), (15, 0, 1)])
def test_sample_step_keeps_at_least_the_pose_rate(rate, fps, step):
    assert pose_sample_step(rate, fps) == step
    if rate and fps:
        assert fps / step >= 0.98 * rate


def _series(times: np.ndarray, x: np.ndarray) -> PoseSeries:
    s = PoseSeries.empty(times, 640, 360)
    s.image_xy[:] = np.stack([x, x * 0.5], axis=-1)[:, None, :] + np.arange(NUM_LANDMARKS)[None, :, None]
    s.image_z[:] = 0.0
    s.world_xyz[:] = 0.1
    s.visibility[:] = 0.9
    s.presence[:] = 0.9
    return s


def test_resampled_interpolates_between_measured_frames_only():
    measured = np.array([0.0, 2 / 30, 4 / 30, 10 / 30, 12 / 30])  # a hole from 4/30 to 10/30
    s = _series(measured, 30 * measured)  # x = frame number
    frames = np.arange(13) / 30
    out = s.resampled(frames, max_step_s=3 / 30)
    x = out.image_xy[:, 0, 0]
    np.testing.assert_allclose(x[[0, 1, 2, 3, 4]], [0, 1, 2, 3, 4], atol=1e-9)  # measured and in between
    assert np.isnan(x[5:10]).all(), "a gap longer than max_step_s is not invented"
    np.testing.assert_allclose(x[10:13], [10, 11, 12], atol=1e-9)
    assert (out.visibility[5:10] == 0).all() and (out.visibility[:5] == pytest.approx(0.9))


def test_resampled_leaves_a_frame_next_to_an_unseen_one_unseen():
    measured = np.arange(5) * 2 / 30
    s = _series(measured, 30 * measured)
    s.image_xy[2] = np.nan
    s.visibility[2] = 0
    out = s.resampled(np.arange(9) / 30, max_step_s=3 / 30)
    assert np.isnan(out.image_xy[3:6, 0, 0]).all() and (out.visibility[3:6] == 0).all()
    assert np.isfinite(out.image_xy[[0, 1, 2, 6, 7, 8], 0, 0]).all()


def test_kinematics_on_a_subset_returns_every_frame_and_follows_the_motion():
    fps = 30.0
    frames = np.arange(0, 4, 1 / fps)
    rng = np.random.default_rng(0)

    def body(t):
        """A side-view leg bending 0-60 deg at 0.5 Hz: hip above knee above ankle."""
        s = PoseSeries.empty(t, 640, 480)
        bend = np.radians(30 - 30 * np.cos(2 * np.pi * 0.5 * t))
        for hip, knee, ankle, foot, heel in ((23, 25, 27, 31, 29), (24, 26, 28, 32, 30)):
            s.image_xy[:, hip] = np.stack([np.full_like(t, 300), np.full_like(t, 200)], 1)
            s.image_xy[:, knee] = s.image_xy[:, hip] + np.stack([100 * np.sin(bend), 100 * np.cos(bend)], 1)
            s.image_xy[:, ankle] = s.image_xy[:, knee] + np.stack([-0 * t, np.full_like(t, 100)], 1)
            s.image_xy[:, foot] = s.image_xy[:, ankle] + (30, 5)
            s.image_xy[:, heel] = s.image_xy[:, ankle] + (-8, 5)
        for upper in (11, 12):
            s.image_xy[:, upper] = s.image_xy[:, 23] + (0, -180)
        rest = np.isnan(s.image_xy[0, :, 0])
        s.image_xy[:, rest] = s.image_xy[:, [11], :] + (0, -40)
        s.image_xy += rng.normal(0, 0.3, s.image_xy.shape)
        s.image_z[:] = 0
        s.world_xyz[:] = np.concatenate([s.image_xy / 400, np.zeros((len(t), NUM_LANDMARKS, 1))], axis=2)
        s.visibility[:] = 0.95
        s.presence[:] = 0.95
        return s

    every = body(frames)
    subset = body(frames[::2])
    subset.frame_times = frames
    clean_all, angles_all = compute_kinematics(every, KinematicsSettings())
    clean_sub, angles_sub = compute_kinematics(subset, KinematicsSettings())
    assert len(clean_sub) == len(frames) and len(angles_sub.time_s) == len(frames)
    a, b = angles_all["left_knee_flexion_deg"], angles_sub["left_knee_flexion_deg"]
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.sum() >= len(frames) - 2
    assert np.nanmax(np.abs(a[ok] - b[ok])) < 1.5  # degrees: the 15 Hz samples carry a 0.5 Hz bend
    assert np.nanmax(b) > 50


def test_iter_frames_converts_only_the_sampled_frames():
    info = probe(SAMPLE)
    frames = list(iter_frames(info, sample_step=2, max_long_side=320))
    every = [f.time_s for f in iter_frames(info, max_long_side=320)]
    assert [f.time_s for f in frames] == every
    with_image = [f for f in frames if f.image is not None]
    assert 0.45 * len(frames) <= len(with_image) <= 0.55 * len(frames) + 1
    grid = {round(f.time_s * info.fps) % 2 for f in with_image}
    assert grid == {0}


@pytest.mark.parametrize("size", [(1920, 1080), (1920, 1078), (3840, 2160)])
def test_plane_by_plane_shrink_matches_converting_first(size):
    """sources.shrink_yuv420 (scale, then convert) against shrink (convert, then scale)."""
    import cv2

    from formcheck.sources import shrink, shrink_yuv420

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    bgr = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) * 255 // (w + h))], axis=-1).astype(np.uint8)
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    out_w, out_h = 1280, int(round(h * 1280 / w / 2)) * 2
    fast = shrink_yuv420(i420, out_w, out_h, "bgr24")
    slow = shrink(cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420), out_w, out_h)
    assert fast.shape == slow.shape == (out_h, out_w, 3)
    assert np.abs(fast.astype(int) - slow.astype(int)).mean() < 2.0
