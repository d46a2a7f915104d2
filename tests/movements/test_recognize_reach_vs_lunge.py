"""A knee-dominant mSEBT reach puts the hips between the feet like a lunge; what tells them
apart is the order of events (a lunge steps and then goes down, a reach glides out of the
stance-leg squat): `recognize.knee_lead`."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from formcheck.movements import analyze_movement
from formcheck.movements.recognize import knee_lead
from formcheck.series import AngleSeries, PoseSeries

clip = pytest.importorskip("formcheck.synth.clip")


def test_knee_lead_on_arrays():
    t = np.linspace(0, 1, 101)
    sep = np.clip(1.3 * np.sin(np.pi * t), 0, 1)              # feet wide (>= 0.8) from t ~ 0.2 to 0.8

    def pad(x, v):
        return np.concatenate([np.full(20, v), x, np.full(20, v)])

    wide = pad(sep >= 0.8, False)
    sep = pad(sep, 0.0)
    # lunge: step first (feet wide at t ~ 0.2), then down (knee peaks at t = 0.5)
    lunge_knee = pad(5 + 80 * np.clip(np.sin(np.pi * (t - 0.2) / 0.6), 0, None) ** 2 * (t > 0.2), 5.0)
    # reach: the stance knee bends with the reach and is near its deepest when the foot is far
    reach_knee = 5 + 80 * np.clip(sep / 0.7, 0, 1)
    lead_lunge, lead_reach = knee_lead(lunge_knee, sep, wide), knee_lead(reach_knee, sep, wide)
    assert lead_lunge < 0.3 and lead_reach > 0.8, (lead_lunge, lead_reach)
    # feet never together (split squat): no episode to judge
    assert np.isnan(knee_lead(lunge_knee, np.ones_like(sep), np.ones_like(wide)))


@pytest.mark.parametrize("comps, motion, family", [
    ({"reduced_hip_flexion": 15}, "msebt_anterior", "sebt"),
    ({"excess_knee_flexion": 20}, "msebt_anterior", "sebt"),
    ({}, "forward_lunge", "forward_lunge"),
])
def test_side_view_knee_dominant_reach_is_not_a_lunge(comps, motion, family):
    arrays, _ = clip.simulate_truth(clip.SynthConfig(motion=motion, view="side", side="right", reps=2,
                                                     compensations=comps))
    t = arrays["time_s"]
    vis = arrays["visible"].astype(float)
    img = arrays["image_xy"].astype(float).copy()
    img[vis < 0.5] = np.nan
    pose = PoseSeries(time_s=t, image_xy=img, image_z=np.zeros((len(t), 33)),
                      world_xyz=arrays["world_mp"].astype(float),
                      visibility=vis, presence=vis.copy(), width=1280, height=720)
    angles = AngleSeries(time_s=t, angles={k[5:]: v for k, v in arrays.items() if k.startswith(("fc2d_", "fc3d_"))},
                         facing=arrays["facing"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = analyze_movement(pose, angles, exercise="auto")
    assert r.exercise == family, r.recognition_scores
    assert r.rep_count == 2
