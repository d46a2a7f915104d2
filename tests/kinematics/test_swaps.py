"""Left/right leg-label swaps and collapsed legs on synthetic trajectories with known truth."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from formcheck.kinematics.swaps import (
    LEFT_CHAIN,
    RIGHT_CHAIN,
    correct_leg_swaps,
    detect_collapse,
    swap_leg_chains,
)
from formcheck.landmarks import NUM_LANDMARKS, SIDE_LANDMARKS

FPS = 30.0
THIGH = 200.0


def _leg(hip: np.ndarray, hip_angle: np.ndarray, knee_flex: np.ndarray) -> dict[str, np.ndarray]:
    """Side view facing right: angles (T,) in radians from straight down, forward positive."""
    def d(a):
        return np.stack([np.sin(a), np.cos(a)], axis=-1)

    knee = hip + THIGH * d(hip_angle)
    ankle = knee + THIGH * d(hip_angle - knee_flex)
    heel = ankle + np.array([-15.0, 12.0])
    return {"knee": knee, "ankle": ankle, "heel": heel, "foot_index": heel + np.array([90.0, 0.0])}


def walking(n: int = 240, noise: float = 0.0, seed: int = 0, period_s: float = 1.2) -> dict[str, np.ndarray]:
    """Two legs in antiphase (they pass each other twice per cycle), hips fixed."""
    t = np.arange(n) / FPS
    phase = 2 * np.pi * t / period_s
    xy = np.zeros((n, NUM_LANDMARKS, 2))
    xy[:] = np.array([500.0, 300.0])  # upper body parked at one point
    for side, sign in (("left", 1.0), ("right", -1.0)):
        s = SIDE_LANDMARKS[side]
        hip = np.array([500.0 + 3 * sign, 500.0])
        xy[:, s["hip"]] = hip
        ang = sign * 0.45 * np.sin(phase)
        kf = 0.35 + 0.3 * np.sin(phase + sign * np.pi / 2) ** 2
        for name, v in _leg(hip, ang, kf).items():
            xy[:, s[name]] = v
    xy += noise * THIGH * np.random.default_rng(seed).normal(size=xy.shape)
    return _series(t, xy)


def lunging(n: int = 300, noise: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Alternating lunges: one leg steps forward while the other goes back, then together.

    One lunge every 1.5 s; the legs leave and rejoin each other with zero velocity (sin|sin|).
    """
    t = np.arange(n) / FPS
    s = np.sin(2 * np.pi * t / 3.0)
    depth = s * np.abs(s)  # + left leg forward, - right leg forward
    xy = np.zeros((n, NUM_LANDMARKS, 2))
    xy[:] = np.array([500.0, 300.0])
    for side, sign in (("left", 1.0), ("right", -1.0)):
        s = SIDE_LANDMARKS[side]
        hip = np.array([500.0 + 3 * sign, 500.0])
        xy[:, s["hip"]] = hip
        fwd = np.clip(sign * depth, 0, None)
        back = np.clip(-sign * depth, 0, None)
        ang = 1.2 * fwd - 0.5 * back
        kf = 1.4 * fwd + 1.4 * back
        for name, v in _leg(hip, ang, kf).items():
            xy[:, s[name]] = v
    xy += noise * THIGH * np.random.default_rng(seed).normal(size=xy.shape)
    return _series(t, xy)


def _series(t, xy):
    n = len(t)
    rng = np.random.default_rng(42)
    vis = rng.uniform(0.6, 1.0, size=(n, NUM_LANDMARKS))
    return {
        "image_xy": xy,
        "image_z": rng.normal(size=(n, NUM_LANDMARKS)),
        "world_xyz": rng.normal(size=(n, NUM_LANDMARKS, 3)),
        "visibility": vis,
        "presence": vis * 0.9,
        "time_s": t,
    }


def _run(d, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return correct_leg_swaps(
            d["image_xy"], d["image_z"], d["world_xyz"], d["visibility"], d["presence"], d["time_s"], **kw
        )


def _swapped(d, frames):
    out = dict(d)
    for k in ("image_xy", "image_z", "world_xyz", "visibility", "presence"):
        out[k] = swap_leg_chains(d[k], frames)
    return out


@pytest.mark.parametrize("make", [walking, lunging])
@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_clean_data_is_left_alone(make, noise):
    d = make(noise=noise)
    r = _run(d)
    assert r.swapped_frames.size == 0
    assert r.collapsed_frames.size == 0
    np.testing.assert_array_equal(r.image_xy, d["image_xy"])


@pytest.mark.parametrize(
    "make, block",
    [(walking, b) for b in [(40, 70), (0, 25), (200, 240), (101, 103)]]
    # Lunges: the legs stand together every 45 frames, so each lunge is its own stretch.
    + [(lunging, b) for b in [(52, 62), (98, 104), (190, 200), (150, 151)]],
)
def test_swapped_block_is_corrected_exactly(make, block):
    d = make(noise=0.01, seed=block[0])
    frames = np.arange(*block)
    # A block starting at a leg crossing is indistinguishable from no swap; keep the boundaries
    # where the legs are apart (the crossing case is tested separately).
    sep = np.linalg.norm(d["image_xy"][:, LEFT_CHAIN] - d["image_xy"][:, RIGHT_CHAIN], axis=-1).mean(axis=1)
    for b in block:
        if 0 < b < len(sep):
            if sep[b] < 0.3 * THIGH:
                pytest.skip("block boundary at a crossing")
    raw = _swapped(d, frames)
    r = _run(raw)
    np.testing.assert_array_equal(r.swapped_frames, frames)
    for k in ("image_xy", "image_z", "world_xyz", "visibility", "presence"):
        np.testing.assert_array_equal(getattr(r, k), d[k])


def test_swap_across_a_short_detection_gap():
    d = walking(noise=0.01)
    raw = _swapped(d, np.arange(60, 90))
    for k in ("image_xy", "image_z", "world_xyz"):
        raw[k][55:60] = np.nan  # no pose for 5 frames, the swap starts right after
    raw["visibility"][55:60] = 0
    r = _run(raw)
    np.testing.assert_array_equal(r.swapped_frames, np.arange(60, 90))


def test_labels_bouncing_at_crossings_are_corrected():
    """The model keeps 'left' on the front leg through a crossing: velocities reveal it."""
    d = walking(noise=0.005, n=240)
    x = d["image_xy"]
    # Frames between two consecutive crossings (the legs pass at phase 0 and pi).
    knee_dx = x[:, LEFT_CHAIN[0], 0] - x[:, RIGHT_CHAIN[0], 0]
    crossings = np.flatnonzero(np.diff(np.sign(knee_dx)) != 0) + 1
    a, b = crossings[2], crossings[3]
    raw = _swapped(d, np.arange(a, b))
    r = _run(raw)
    assert abs(len(r.swapped_frames) - (b - a)) <= 2
    assert set(r.swapped_frames) <= set(range(a - 1, b + 1))


def test_majority_decides_which_labelling_is_left():
    d = walking(noise=0.01)
    n = len(d["time_s"])
    # The raw labels are swapped on most frames: the decoder keeps the majority, i.e. it
    # relabels the minority -- the correction is relative, by design.
    frames = np.arange(40, n)
    r = _run(_swapped(d, frames))
    np.testing.assert_array_equal(r.swapped_frames, np.arange(40))


def test_identity_is_not_carried_through_legs_standing_together():
    """Each lunge is labelled on its own: the model's labels decide after the legs were together."""
    d = lunging(noise=0.01)
    x = d["image_xy"]
    sep = np.linalg.norm(x[:, LEFT_CHAIN] - x[:, RIGHT_CHAIN], axis=-1).max(axis=1)
    together = np.flatnonzero(sep < 0.05 * THIGH)
    # The second lunge (between the 2nd and 3rd stand) labelled the other way round, as the model
    # may do after the legs were indistinguishable: not a swap to correct.
    lunge = np.arange(together[together > 30][0], together[together > 80][0])
    r = _run(_swapped(d, lunge))
    assert r.swapped_frames.size == 0


def test_collapsed_legs_become_gaps():
    d = lunging(noise=0.005)
    x = d["image_xy"]
    sep = np.linalg.norm(x[:, LEFT_CHAIN] - x[:, RIGHT_CHAIN], axis=-1).mean(axis=1)
    start = int(np.argmax(sep))  # legs wide apart
    frames = np.arange(start - 3, start + 4)
    raw = {k: v.copy() for k, v in d.items()}
    raw["image_xy"][frames[:, None], RIGHT_CHAIN[None, :]] = x[frames[:, None], LEFT_CHAIN[None, :]] + 2.0
    r = _run(raw)
    np.testing.assert_array_equal(r.collapsed_frames, frames)
    assert r.swapped_frames.size == 0
    chain = np.concatenate([LEFT_CHAIN, RIGHT_CHAIN])
    assert np.isnan(r.image_xy[frames][:, chain]).all()
    assert np.isnan(r.world_xyz[frames][:, chain]).all()
    assert (r.visibility[frames][:, chain] == 0).all()
    # Hips and other frames are untouched.
    np.testing.assert_array_equal(r.image_xy[:, SIDE_LANDMARKS["left"]["hip"]], x[:, SIDE_LANDMARKS["left"]["hip"]])
    others = np.setdiff1d(np.arange(len(x)), frames)
    np.testing.assert_array_equal(r.image_xy[others], x[others])


def test_legs_that_really_overlap_are_not_a_collapse():
    # Standing in a side view: legs together for a second, reached and left gradually.
    d = lunging(noise=0.003)
    x = d["image_xy"]
    together = 90  # t = 3 s: between two lunges
    sep = np.linalg.norm(x[together, LEFT_CHAIN] - x[together, RIGHT_CHAIN], axis=-1).max()
    assert sep < 0.05 * THIGH
    held = np.concatenate([x[: together + 1], np.repeat(x[together : together + 1], 30, axis=0), x[together + 1 :]])
    t = np.arange(len(held)) / FPS
    assert not detect_collapse(held, t).any()
    assert not detect_collapse(x, d["time_s"]).any()


def test_swap_and_collapse_together():
    d = walking(noise=0.01, n=300)
    x = d["image_xy"]
    sep = np.linalg.norm(x[:, LEFT_CHAIN] - x[:, RIGHT_CHAIN], axis=-1).mean(axis=1)
    wide = np.flatnonzero(sep > 0.6 * THIGH)
    c = wide[(wide > 150) & (wide < 250)][0]
    swap = np.arange(30, 80) if sep[30] > 0.3 * THIGH and sep[80] > 0.3 * THIGH else np.arange(31, 79)
    raw = _swapped(d, swap)
    raw["image_xy"][c : c + 2, RIGHT_CHAIN] = raw["image_xy"][c : c + 2, LEFT_CHAIN]
    r = _run(raw)
    np.testing.assert_array_equal(r.collapsed_frames, [c, c + 1])
    np.testing.assert_array_equal(r.swapped_frames, swap)


def test_brief_spike_with_both_legs_in_between_becomes_a_gap():
    """As seen on real clips: for 1-2 frames both leg chains land midway between the legs."""
    d = lunging(noise=0.005)
    x = d["image_xy"]
    sep = np.linalg.norm(x[:, LEFT_CHAIN] - x[:, RIGHT_CHAIN], axis=-1).mean(axis=1)
    k = int(np.argmax(sep[100:200])) + 100
    raw = {key: v.copy() for key, v in d.items()}
    mid = 0.5 * (x[k : k + 2, LEFT_CHAIN] + x[k : k + 2, RIGHT_CHAIN])
    raw["image_xy"][k : k + 2, LEFT_CHAIN] = mid + 5.0
    raw["image_xy"][k : k + 2, RIGHT_CHAIN] = mid - 5.0
    r = _run(raw)
    np.testing.assert_array_equal(r.collapsed_frames, [k, k + 1])
    assert r.swapped_frames.size == 0


def test_lost_tracking_on_unexplained_jumps_only():
    from formcheck.kinematics.swaps import _lost_tracking

    d = walking(noise=0.0)
    x = np.stack([d["image_xy"][:, LEFT_CHAIN], d["image_xy"][:, RIGHT_CHAIN]], axis=1) / THIGH
    t = d["time_s"]
    assert not _lost_tracking(x, t).any()  # smooth motion, crossings included
    swapped = x.copy()
    swapped[50:] = swapped[50:, ::-1]
    assert not _lost_tracking(swapped, t).any()  # a clean swap is explained by relabelling
    jumped = x.copy()
    jumped[50:, :, :, 0] += 3.0  # both legs teleport: neither labelling explains it
    lost = _lost_tracking(jumped, t)
    assert lost[49] and lost.sum() == 1


def test_flipped_trunk_frames_become_gaps():
    """A model glitch that puts the shoulders below the hips is removed, real trunk motion is not."""
    from formcheck.kinematics import implausible_trunk_frames
    from formcheck.landmarks import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER

    t = np.arange(120) / 30
    xy = np.full((120, 33, 2), np.nan)
    lean = np.radians(60 * np.clip(t - 1, 0, 1))  # a real hinge: trunk tilts 60 deg over 1 s
    hip = np.array([300.0, 400.0])
    shoulder = hip + 200 * np.column_stack([np.sin(lean), -np.cos(lean)])
    xy[:, LEFT_HIP] = xy[:, RIGHT_HIP] = hip
    xy[:, LEFT_SHOULDER] = xy[:, RIGHT_SHOULDER] = shoulder
    xy[80:85, LEFT_SHOULDER] = xy[80:85, RIGHT_SHOULDER] = hip + (0, 150)  # glitch: shoulders below hips
    bad = implausible_trunk_frames(xy, t)
    assert np.flatnonzero(bad).tolist() == [80, 81, 82, 83, 84]
