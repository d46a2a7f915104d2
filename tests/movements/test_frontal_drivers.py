"""Front-view rep drivers: a single-leg squat is driven by the hip drop in the image, an mSEBT
reach adds the stance-leg hip drop to the foot excursion. Both must hold when MediaPipe's 3D
estimates are compressed as they are from the front (knee flexion range about a tenth of the
truth, depth about half), which the true landmarks are degraded to here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from formcheck.movements import analyze_movement
from formcheck.movements.context import MovementContext
from formcheck.movements.exercises import create
from formcheck.movements.segment import segment
from formcheck.series import AngleSeries, PoseSeries

clip = pytest.importorskip("formcheck.synth.clip")


def front_clip(motion: str, side: str, compress: bool):
    arrays, meta = clip.simulate_truth(clip.SynthConfig(motion=motion, view="front", side=side, reps=2))
    t = arrays["time_s"]
    world = arrays["world_mp"].astype(float).copy()
    angles = {k[5:]: np.asarray(v, float).copy() for k, v in arrays.items() if k.startswith(("fc2d_", "fc3d_"))}
    if compress:
        world[:, :, 2] *= 0.5                                   # depth at half its size
        for k in angles:
            if k.endswith("knee_flexion_3d_deg"):
                angles[k] = 0.1 * angles[k] + 22.0              # 2..75 deg reads 22..30 (as measured)
    pose = PoseSeries(time_s=t, image_xy=arrays["image_xy"].astype(float), image_z=np.zeros((len(t), 33)),
                      world_xyz=world, visibility=np.ones((len(t), 33)), presence=np.ones((len(t), 33)),
                      width=1280, height=720)
    return pose, AngleSeries(time_s=t, angles=angles, facing=arrays["facing"]), meta


@pytest.mark.parametrize("side", ["left", "right"])
def test_front_single_leg_squat_reps_and_stance_from_hip_drop(side):
    pose, angles, meta = front_clip("single_leg_squat", side, compress=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = analyze_movement(pose, angles, exercise="single_leg_squat")
    assert r.view == "frontal"
    assert r.rep_count == len(meta["events"]) == 2
    assert [x.side for x in r.reps] == [e["side"] for e in meta["events"]]
    # the rep's bottom is where the truth has it
    for rep, ev in zip(r.reps, meta["events"]):
        assert abs(rep.bottom_s - ev["bottom_s"]) < 0.4


def test_front_single_leg_squat_still_subject_gives_no_rep():
    pose, angles, _ = front_clip("single_leg_squat", "left", compress=True)
    ctx = MovementContext(pose, angles)
    ex = create("single_leg_squat")
    rng = np.random.default_rng(0)
    # hold the first frame, plus 1 px of landmark noise: the hip drop driver must stay quiet
    still = np.repeat(pose.image_xy[:1], len(pose), axis=0) + rng.normal(0, 1.0, pose.image_xy.shape)
    pose2 = PoseSeries(time_s=pose.time_s, image_xy=still, image_z=pose.image_z,
                       world_xyz=np.repeat(pose.world_xyz[:1], len(pose), axis=0), visibility=pose.visibility,
                       presence=pose.presence, width=pose.width, height=pose.height)
    ang2 = AngleSeries(time_s=angles.time_s, angles={k: np.full_like(v, v[0]) for k, v in angles.angles.items()},
                       facing=angles.facing)
    ctx2 = MovementContext(pose2, ang2, ctx.view)
    assert ex.hip_drop_driven(ctx2)
    assert segment(ctx2.t, ex.driver(ctx2), ex.params(ctx2)) == []


def test_front_msebt_trials_with_compressed_depth():
    pose, angles, meta = front_clip("msebt_anterior", "right", compress=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = analyze_movement(pose, angles, exercise="sebt_anterior")
    assert r.rep_count == len(meta["events"]) == 2
    assert all(x.side == "right" for x in r.reps)
