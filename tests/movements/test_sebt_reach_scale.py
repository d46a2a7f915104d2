"""mSEBT reach definition, side-view foot offsets, heel lift on a flat foot, and the floor
scale from a printed ArUco marker (kinematics/scale.py, pose/marker.py, synth marker prop)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import movement_fixtures as mf
from formcheck.kinematics.scale import floor_scale_from_corners
from formcheck.landmarks import SIDE_LANDMARKS
from formcheck.movements import analyze_movement
from formcheck.movements.context import MovementContext
from formcheck.movements.metrics import heel_rise
from formcheck.movements.segment import Segment
from formcheck.series import AngleSeries, PoseSeries


def _pinhole(points_xyz, f=900.0, c=(640, 360), cam=(0.0, 1.5, -3.0), pitch_deg=20.0):
    """Project world points (x right, y up, z forward from the camera) with a camera tilted down."""
    p = np.asarray(points_xyz, float) - np.asarray(cam)
    r = np.radians(pitch_deg)
    y = p[:, 1] * np.cos(r) + p[:, 2] * np.sin(r)
    z = -p[:, 1] * np.sin(r) + p[:, 2] * np.cos(r)
    return np.c_[c[0] + f * p[:, 0] / z, c[1] - f * y / z]


def test_floor_homography_maps_floor_points_to_cm():
    size = 20.0
    corners = np.array([[0, 0, 0], [0.2, 0, 0], [0.2, 0, -0.2], [0, 0, -0.2]])   # seen from above: x right, z up
    fs = floor_scale_from_corners(_pinhole(corners), size)
    far = np.array([[0.65, 0, 0.40], [-0.3, 0, -0.5]])
    got = fs.to_floor_cm(_pinhole(far))
    want = np.c_[far[:, 0] * 100, -far[:, 2] * 100]
    assert np.allclose(got, want, atol=0.05)
    assert fs.to_dict()["marker_size_cm"] == 20.0
    with pytest.raises(ValueError):
        floor_scale_from_corners(np.full((4, 2), np.nan), size)


def _ctx(pose, angles):
    return MovementContext(pose, angles)


def test_side_view_foot_offset_is_in_plane_only():
    """A depth (world z) offset between the feet must not add to the side-view distance."""
    pose, angles = mf.sebt(trials=[("left", "anterior")], yaw=90.0, reach=0.6)
    w = pose.world_xyz.copy()
    w[:, SIDE_LANDMARKS["right"]["foot_index"], 2] += 0.4       # MediaPipe depth guess off by 40 cm
    w[:, SIDE_LANDMARKS["right"]["ankle"], 2] += 0.4
    w[:, SIDE_LANDMARKS["right"]["heel"], 2] += 0.4
    bad = PoseSeries(time_s=pose.time_s, image_xy=pose.image_xy, image_z=pose.image_z, world_xyz=w,
                     visibility=pose.visibility, presence=pose.presence, width=pose.width, height=pose.height)
    a = _ctx(pose, angles).foot_offset("right", "left")["total"]
    b = _ctx(bad, angles).foot_offset("right", "left")["total"]
    assert _ctx(pose, angles).view.view == "sagittal"
    assert np.nanmax(np.abs(a - b)) < 1e-9


def test_heel_lift_ignores_a_toe_point_sliding_down():
    """MediaPipe's toe point drops while a flat foot dorsiflexes: the heel did not rise."""
    pose, angles = mf.sebt(trials=[("left", "anterior")], yaw=90.0, reach=0.6)
    ctx0 = _ctx(pose, angles)
    lp = ctx0.leg_length_px["ref"]
    xy = pose.image_xy.copy()
    T = len(xy)
    bump = 0.05 * lp * np.sin(np.linspace(0, np.pi, T)) ** 2        # toe 5 % of leg lower mid-clip
    xy[:, SIDE_LANDMARKS["left"]["foot_index"], 1] += bump
    moved = PoseSeries(time_s=pose.time_s, image_xy=xy, image_z=pose.image_z, world_xyz=pose.world_xyz,
                       visibility=pose.visibility, presence=pose.presence, width=pose.width, height=pose.height)
    mid = T // 2
    seg = Segment(start=mid - 10, peak=mid, plateau_start=mid - 2, plateau_end=mid + 2, end=mid + 10,
                  peak_value=1.0, excursion=1.0)
    assert abs(heel_rise(_ctx(moved, angles), "left", seg)) < 2.0
    # a real heel lift (heel up 4 % of leg, the ankle with it on its shorter lever, toe down) still
    # reads as one
    xy2 = xy.copy()
    xy2[:, SIDE_LANDMARKS["left"]["heel"], 1] -= 0.8 * bump
    xy2[:, SIDE_LANDMARKS["left"]["ankle"], 1] -= 0.5 * bump
    lifted = PoseSeries(time_s=pose.time_s, image_xy=xy2, image_z=pose.image_z, world_xyz=pose.world_xyz,
                        visibility=pose.visibility, presence=pose.presence, width=pose.width, height=pose.height)
    assert heel_rise(_ctx(lifted, angles), "left", seg) > 8.0


synth_clip = pytest.importorskip("formcheck.synth.clip")


@pytest.fixture(scope="module")
def marker_clip(tmp_path_factory):
    """One anterior mSEBT trial, side view, 1280x720, camera 1.6 m high, 20 cm marker on the floor."""
    from formcheck.synth.groundtruth import load_truth

    out = tmp_path_factory.mktemp("sebt_marker")
    cfg = synth_clip.SynthConfig(motion="msebt_anterior", side="right", reps=1, view="side", width=1280,
                                 height=720, cam_height=1.6, marker_cm=20.0, seed=4, rest_s=0.6)
    synth_clip.synthesize(cfg, out)
    arrays, meta = load_truth(out)
    return out, arrays, meta


def _true_pose(arrays, meta):
    t = arrays["time_s"]
    vis = arrays["visible"].astype(float)
    img = arrays["image_xy"].astype(float).copy()
    img[vis < 0.5] = np.nan
    pose = PoseSeries(time_s=t, image_xy=img, image_z=np.zeros((len(t), 33)),
                      world_xyz=arrays["world_mp"].astype(float), visibility=vis, presence=vis.copy(),
                      width=int(meta["config"]["width"]), height=int(meta["config"]["height"]))
    angles = AngleSeries(time_s=t, angles={k[5:]: v for k, v in arrays.items() if k.startswith(("fc2d_", "fc3d_"))},
                         facing=arrays["facing"])
    return pose, angles


def test_rendered_marker_gives_reach_in_cm_and_leg_normalised_reach(marker_clip):
    """Landmarks = the true projections (the pose model's error is measured by bench/accuracy.py);
    the marker is detected by OpenCV on the rendered MP4."""
    from formcheck.pose.marker import find_floor_marker
    from formcheck.sources import probe

    out, arrays, meta = marker_clip
    floor = find_floor_marker(probe(out / "clip.mp4"), 20.0)
    assert floor is not None and floor.frames_used >= 3
    pose, angles = _true_pose(arrays, meta)
    truth = meta["msebt_reaches"][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_marker = analyze_movement(pose, angles, exercise="sebt_anterior", floor_scale=floor)
        plain = analyze_movement(pose, angles, exercise="sebt_anterior")
    assert with_marker.rep_count == 1 and plain.rep_count == 1
    rep_m, rep_p = with_marker.reps[0], plain.reps[0]
    assert rep_m.metrics["reach_scale"] == "marker" and with_marker.scale["marker"]["marker_size_cm"] == 20.0
    assert abs(rep_m.metrics["reach_cm"] - 100 * truth["max_reach_m"]) <= 2.0
    assert rep_p.metrics["reach_scale"] == "image_leg" and plain.scale["marker"] is None
    assert abs(rep_p.metrics["reach_pct_leg"] - 100 * truth["max_reach_norm"]) <= 3.0


@pytest.mark.slow
def test_rendered_marker_through_the_pose_model(marker_clip, tmp_path):
    """The whole pipeline on the rendered side-view trial: the marker is found, the reach is read
    from it within the full model's measured error (bench/marker_reach.py: 0.5-5.3 cm short), and
    the analysis says how far to trust it."""
    from formcheck.pipeline import analyze_video

    out, _, meta = marker_clip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        movement = analyze_video(out / "clip.mp4", tmp_path, exercise="sebt_anterior",
                                 marker_size_cm=20.0).analysis.movement
    assert movement.view == "sagittal" and movement.rep_count == 1
    assert movement.scale["reach"] == "marker" and movement.scale["marker"]["marker_size_cm"] == 20.0
    error = movement.reps[0].metrics["reach_cm"] - 100 * meta["msebt_reaches"][0]["max_reach_m"]
    assert -5.5 <= error <= 2.0
    assert any("heavy" in n and "short" in n for n in movement.notes)


# A floor marker whose homography is the identity scaled 1:1 (image px = floor cm): any image
# distance between foot points reads as the same number of cm.
UNIT_FLOOR = floor_scale_from_corners(np.array([[0, 0], [20, 0], [20, 20], [0, 20]], float), 20.0)


@pytest.mark.parametrize("yaw, view", [(0.0, "frontal"), (45.0, "oblique")])
def test_reach_leaving_the_image_plane_is_not_guessed(yaw, view):
    """From the front or at an angle the reach runs toward the camera: no number, an advice;
    a floor marker does not change that (the toe point's error in image y is depth on the floor)."""
    pose, angles = mf.sebt(trials=[("left", "anterior"), ("right", "anterior")], yaw=yaw, reach=0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = analyze_movement(pose, angles, exercise="sebt_anterior")
        marked = analyze_movement(pose, angles, exercise="sebt_anterior", floor_scale=UNIT_FLOOR)
    for report in (plain, marked):
        assert report.view == view and report.rep_count == 2
        assert all(rep.metrics["reach_pct_leg"] is None and "reach_cm" not in rep.metrics
                   and "reach_scale" not in rep.metrics for rep in report.reps)
        assert not any(k.endswith("best_reach_pct_leg") for k in report.summary)
        advice = {u.measure: u.advice for u in report.unsupported_measures}
        assert "side view" in advice["reach_pct_leg"]
    assert "reach_cm" not in {u.measure for u in plain.unsupported_measures}
    why = {u.measure: u.reason for u in marked.unsupported_measures}["reach_cm"]
    assert f"{'an' if view == 'oblique' else 'a'} {view} view" in why and "anterior" in why
    assert marked.scale["marker"]["marker_size_cm"] == 20.0


def test_marker_reach_is_the_straight_floor_distance_from_the_stance_toe():
    """Side view, anterior: stance toe (before the trial) to reaching toe (at maximal reach),
    straight, whatever the stance foot's heel-to-toe line says about the grid line."""
    pose, angles = mf.sebt(trials=[("left", "anterior")], yaw=90.0, reach=0.6)
    xy = pose.image_xy.copy()
    heel = SIDE_LANDMARKS["left"]["heel"]
    xy[:, heel, 1] += 0.4 * np.abs(xy[:, SIDE_LANDMARKS["left"]["foot_index"], 0] - xy[:, heel, 0])  # line 22 deg off
    tilted = PoseSeries(time_s=pose.time_s, image_xy=xy, image_z=pose.image_z, world_xyz=pose.world_xyz,
                        visibility=pose.visibility, presence=pose.presence, width=pose.width, height=pose.height)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reports = [analyze_movement(p, angles, exercise="sebt_anterior", floor_scale=UNIT_FLOOR)
                   for p in (pose, tilted)]
    for report in reports:
        rep = report.reps[0]
        assert report.view == "sagittal" and rep.metrics["reach_scale"] == "marker"
        i = int(np.argmin(np.abs(pose.time_s - rep.bottom_s)))
        start = int(np.argmin(np.abs(pose.time_s - rep.start_s)))
        toe0 = np.median(pose.image_xy[max(start - 15, 0):start + 1, SIDE_LANDMARKS["left"]["foot_index"]], axis=0)
        tip = np.median(pose.image_xy[i - 2:i + 3, SIDE_LANDMARKS["right"]["foot_index"]], axis=0)
        assert rep.metrics["reach_cm"] == pytest.approx(np.linalg.norm(tip - toe0), abs=0.15)
        assert "reach_cm" not in {u.measure for u in report.unsupported_measures}


def test_posterior_reach_from_the_side_is_not_read_from_the_marker():
    """From the side a posterior reach runs at 135 deg: half of it is depth. Its cm come from
    the leg length (when given), and the marker's refusal says why."""
    pose, angles = mf.sebt(trials=[("left", "posteromedial")], yaw=90.0, reach=0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyze_movement(pose, angles, exercise="sebt_posteromedial", floor_scale=UNIT_FLOOR,
                                  leg_length_cm={"left": 90.0, "right": 90.0})
    rep = report.reps[0]
    assert report.view == "sagittal" and rep.direction == "posteromedial"
    assert rep.metrics["reach_scale"] == "leg_length"
    assert rep.metrics["reach_cm"] == pytest.approx(rep.metrics["reach_pct_leg"] * 0.9, abs=0.06)
    assert "posteromedial" in {u.measure: u.reason for u in report.unsupported_measures}["reach_cm"]


def test_side_view_reach_is_measured_and_not_listed_as_unsupported():
    pose, angles = mf.sebt(trials=[("left", "anterior")], yaw=90.0, reach=0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = analyze_movement(pose, angles, exercise="sebt_anterior")
    assert report.view == "sagittal"
    assert report.reps[0].metrics["reach_pct_leg"] is not None
    assert "reach_pct_leg" not in {u.measure for u in report.unsupported_measures}
