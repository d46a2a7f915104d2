"""Synthetic lab (formcheck.synth): truth consistency, determinism, compensations, planted feet."""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pytest

from formcheck import landmarks as lm
from formcheck.synth.clip import SynthConfig, simulate_truth, synthesize
from formcheck.synth.groundtruth import load_truth
from formcheck.synth.motions import MOTIONS

SMALL = dict(width=256, height=144, fps=10.0)


def _render(tmp_path, name, **kw):
    pytest.importorskip("moderngl")
    cfg = SynthConfig(**{**SMALL, "reps": 1, **kw})
    out = tmp_path / name
    summary = synthesize(cfg, out, keep_frames=True)
    arrays, meta = load_truth(out)
    return summary, arrays, meta, out


@pytest.fixture(scope="module")
def lunge_side(tmp_path_factory):
    return _render(tmp_path_factory.mktemp("synth"), "lunge", motion="forward_lunge", noise_sigma=0.0, seed=1)


def test_stored_2d_equals_projection_of_3d_truth(lunge_side):
    _, a, meta, _ = lunge_side
    cam = meta["camera"]
    K, R, t = (np.asarray(cam[k]) for k in ("K", "R", "t"))
    pc = a["world_xyz"] @ R.T + t
    uv = (pc @ K.T)[..., :2] / pc[..., 2:3]
    np.testing.assert_allclose(uv, a["image_xy"], atol=1e-6)
    assert a["image_xy"].shape == (meta["n_frames"], 33, 2)
    # MediaPipe-convention world: hip-centred, y down.
    mid = 0.5 * (a["world_mp"][:, lm.LEFT_HIP] + a["world_mp"][:, lm.RIGHT_HIP])
    np.testing.assert_allclose(mid, 0.0, atol=1e-9)
    assert np.all(a["world_mp"][:, lm.NOSE, 1] < a["world_mp"][:, lm.LEFT_ANKLE, 1])


def test_projected_knee_pixel_is_on_the_trouser_leg(lunge_side):
    summary, a, meta, _ = lunge_side
    frames = summary["frames"]
    trousers = np.asarray(meta["look"]["trousers"]) * 255
    wall = np.asarray(meta["look"]["wall"]) * 255
    checked = 0
    # The knee nearer the camera (right side: the camera stands on the person's right).
    k = lm.RIGHT_KNEE
    for i in range(0, len(frames), 3):
        if not a["visible"][i, k]:
            continue
        x, y = (int(v) for v in a["image_xy"][i, k])
        px = frames[i][y, x].astype(float)
        scale = px @ trousers / (trousers @ trousers)
        resid = np.linalg.norm(px - scale * trousers)
        assert 0.3 < scale < 1.6 and resid < 30, (i, px, trousers)
        assert np.linalg.norm(px - wall) > 40
        checked += 1
    assert checked >= 10


def test_visibility_flags_far_side_leg_sometimes_hidden(lunge_side):
    _, a, _, _ = lunge_side
    assert a["in_frame"][:, [23, 24, 25, 26, 27, 28]].all()
    assert a["visible"][:, lm.RIGHT_KNEE].mean() > 0.9
    assert a["visible"][:, lm.LEFT_HIP].mean() < 0.5  # behind the pelvis in a side view


def test_same_seed_same_clip_other_seed_differs(tmp_path, lunge_side):
    s1, _, _, out1 = lunge_side
    s2, _, _, out2 = _render(tmp_path, "again", motion="forward_lunge", noise_sigma=0.0, seed=1)
    assert all(np.array_equal(f1, f2) for f1, f2 in zip(s1["frames"], s2["frames"]))
    h = [hashlib.sha256((o / "clip.mp4").read_bytes()).hexdigest() for o in (out1, out2)]
    assert h[0] == h[1]
    s3, _, _, _ = _render(tmp_path, "other", motion="forward_lunge", noise_sigma=0.0, seed=2)
    assert not np.array_equal(s1["frames"][0], s3["frames"][0])


def test_sensor_noise_is_seeded(tmp_path):
    a = _render(tmp_path, "n1", motion="squat", noise_sigma=3.0, seed=4, rep_s=1.0)[0]["frames"]
    b = _render(tmp_path, "n2", motion="squat", noise_sigma=3.0, seed=4, rep_s=1.0)[0]["frames"]
    assert np.array_equal(a[3], b[3])


def _bottom(meta, rep=0):
    return meta["events"][rep]["bottom_frame"]


@pytest.mark.parametrize("motion", ["forward_lunge", "single_leg_squat", "msebt_anterior", "step_up"])
def test_knee_valgus_raises_true_fppa_by_the_amount(motion):
    base_a, meta = simulate_truth(SynthConfig(motion=motion, reps=1, view="front", **SMALL))
    comp_a, _ = simulate_truth(SynthConfig(motion=motion, reps=1, view="front",
                                           compensations={"knee_valgus": 10}, **SMALL))
    i = _bottom(meta) if motion != "step_up" else meta["events"][0]["bottom_frame"] + 2
    w = comp_a["comp_weight"][i]
    assert w > 0.5
    d3 = comp_a["fc3d_right_knee_fppa_3d_deg"][i] - base_a["fc3d_right_knee_fppa_3d_deg"][i]
    assert d3 == pytest.approx(10 * w, abs=0.5)
    assert comp_a["comp_knee_valgus"][i] == pytest.approx(10 * w)
    if motion != "step_up":
        assert w == pytest.approx(1.0)
        d2 = comp_a["fc2d_right_knee_fppa_deg"][i] - base_a["fc2d_right_knee_fppa_deg"][i]
        # The image FPPA is a perspective projection of a flexed knee: same sign, similar size.
        assert 5.0 < d2 < 15.0


@pytest.mark.parametrize(("name", "column", "sign"), [
    ("excess_knee_flexion", "anat_right_knee_flexion", 1),
    ("excess_knee_flexion", "fc3d_right_knee_flexion_3d_deg", 1),
    ("reduced_hip_flexion", "anat_right_hip_flexion", -1),
    ("reduced_hip_flexion", "fc2d_right_hip_flexion_deg", -1),
    ("trunk_lean", "fc2d_trunk_lean_deg", 1),
    ("pelvic_drop", "fc3d_left_pelvic_drop_3d_deg", 1),
    ("heel_lift", "anat_right_ankle_dorsiflexion", -1),
])
def test_compensations_shift_truth_angles(name, column, sign):
    base, meta = simulate_truth(SynthConfig(motion="forward_lunge", reps=1, **SMALL))
    comp, _ = simulate_truth(SynthConfig(motion="forward_lunge", reps=1, compensations={name: 8}, **SMALL))
    i = _bottom(meta)
    tol = 0.3 if name in ("excess_knee_flexion", "reduced_hip_flexion", "trunk_lean", "heel_lift") else 1.0
    if column.startswith("fc2d"):
        tol = 1.0
    assert comp[column][i] - base[column][i] == pytest.approx(sign * 8, abs=tol)


def test_lateral_trunk_lean_in_single_leg_tasks():
    base, meta = simulate_truth(SynthConfig(motion="single_leg_squat", reps=1, **SMALL))
    comp, _ = simulate_truth(SynthConfig(motion="single_leg_squat", reps=1, compensations={"trunk_lean": 10}, **SMALL))
    i = _bottom(meta)
    d = comp["fc3d_right_trunk_lateral_lean_3d_deg"][i] - base["fc3d_right_trunk_lateral_lean_3d_deg"][i]
    assert d == pytest.approx(10, abs=0.5)


@pytest.mark.parametrize("motion", MOTIONS)
def test_anchored_foot_stays_planted(motion):
    a, meta = simulate_truth(SynthConfig(motion=motion, reps=2, side="alternate", **SMALL))
    anchor = a["anchor_right"]
    seg_start = 0
    for i in range(1, len(anchor) + 1):
        if i == len(anchor) or anchor[i] != anchor[seg_start]:
            ball = a["_ball_right"] if anchor[seg_start] else a["_ball_left"]
            seg = ball[seg_start:i]
            assert np.max(np.linalg.norm(seg - seg[0], axis=1)) < 0.01, (motion, seg_start, i)
            seg_start = i
    assert np.nanmin(a["world_xyz"][:, [29, 30, 31, 32], 1]) > -0.01  # nothing below the floor


def test_single_leg_stance_ankle_within_1cm():
    a, _ = simulate_truth(SynthConfig(motion="single_leg_squat", reps=2, side="right", **SMALL))
    ank = a["world_xyz"][:, lm.RIGHT_ANKLE]
    assert np.max(np.linalg.norm(ank - ank[0], axis=1)) < 0.01


@pytest.mark.parametrize("motion", MOTIONS)
def test_rep_events_count(motion):
    a, meta = simulate_truth(SynthConfig(motion=motion, reps=3, side="right", **SMALL))
    n = 9 if motion == "msebt" else 3
    ev = meta["events"]
    assert len(ev) == n
    for e in ev:
        assert e["start_frame"] < e["bottom_frame"] < e["end_frame"]
    if motion.startswith("msebt"):
        r = meta["msebt_reaches"]
        assert len(r) == n
        for x in r:
            assert 0.4 < x["max_reach_norm"] < 1.2
            assert x["min_toe_height_m"] > 0.0


def test_alternating_sides_and_reach_touchdown():
    _, meta = simulate_truth(SynthConfig(motion="forward_lunge", reps=4, side="alternate", **SMALL))
    assert [e["side"] for e in meta["events"]] == ["right", "left", "right", "left"]
    _, m2 = simulate_truth(SynthConfig(motion="msebt_anterior", reps=1, compensations={"reach_touchdown": 1}, **SMALL))
    assert m2["msebt_reaches"][0]["touchdown"] is True
    assert m2["msebt_reaches"][0]["min_toe_height_m"] < 0.02


def test_cli_register_and_module_entry(tmp_path):
    from formcheck.synth import cli

    parser = argparse.ArgumentParser(prog="formcheck")
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
    args = parser.parse_args(["synth", "msebt_posteromedial", "--view", "oblique", "-c", "knee_valgus=10",
                              "--compensation", "pelvic_drop=5", "--side", "left", "--reps", "2",
                              "--seed", "9", "--width", "320", "--height", "180", "--fps", "15",
                              "--out", str(tmp_path)])
    assert args.func is cli.run
    assert dict(args.compensation) == {"knee_valgus": 10.0, "pelvic_drop": 5.0}
    with pytest.raises(SystemExit):
        parser.parse_args(["synth", "squat", "-c", "wobble=3", "--out", str(tmp_path)])


def test_cli_renders_a_clip(tmp_path):
    pytest.importorskip("moderngl")
    from formcheck.synth.cli import main

    assert main(["squat", "--reps", "1", "--width", "160", "--height", "96", "--fps", "8",
                 "--rep-seconds", "1.5", "--out", str(tmp_path), "--name", "s.mp4"]) == 0
    assert (tmp_path / "s.mp4").stat().st_size > 1000
    a, meta = load_truth(tmp_path)
    import av

    with av.open(str(tmp_path / "s.mp4")) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert n == meta["n_frames"] == len(a["time_s"])


@pytest.mark.parametrize("motion", ["forward_lunge", "step_up", "msebt"])
def test_segments_are_rigid_and_body_size_knobs_apply(motion):
    from formcheck.synth.skeleton import BodySize

    body = BodySize(height_m=1.62, leg_scale=1.08, girth=1.1)
    a, meta = simulate_truth(SynthConfig(motion=motion, reps=1, body=body, **SMALL))
    sk = meta["skeleton"]
    w = a["world_xyz"]
    for s in ("left", "right"):
        L = lm.SIDE_LANDMARKS[s]
        thigh = np.linalg.norm(w[:, L["knee"]] - w[:, L["hip"]], axis=1)
        shank = np.linalg.norm(w[:, L["ankle"]] - w[:, L["knee"]], axis=1)
        np.testing.assert_allclose(thigh, sk["thigh"], atol=1e-6)
        np.testing.assert_allclose(shank, sk["shank"], atol=1e-6)
    assert sk["thigh"] == pytest.approx(0.245 * 1.62 * 1.08)
    assert meta["leg_length_m"] == pytest.approx(sk["thigh"] + sk["shank"])


def test_motion_blur_renders(tmp_path):
    s, a, meta, _ = _render(tmp_path, "blur", motion="squat", rep_s=1.0, motion_blur=3, noise_sigma=0.0)
    assert len(s["frames"]) == meta["n_frames"] == len(a["time_s"])
    np.testing.assert_allclose(np.diff(a["time_s"]), 1 / SMALL["fps"])
