"""Angles from constructed landmarks with known answers (docs/angles.md)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formcheck.config import KinematicsSettings
from formcheck.kinematics import (
    angles_2d,
    angles_3d,
    compute_kinematics,
    facing_direction,
    signed_angle_2d,
    unsigned_angle,
)
from formcheck.landmarks import LEFT_EAR, NOSE, NUM_LANDMARKS, RIGHT_EAR, SIDE_LANDMARKS
from formcheck.series import PoseSeries

L = SIDE_LANDMARKS["left"]
R = SIDE_LANDMARKS["right"]


def _dir(angle_from_down_deg: float, facing: int) -> np.ndarray:
    """Image direction rotated from straight down toward the facing side (y down)."""
    a = np.radians(angle_from_down_deg)
    return np.array([facing * np.sin(a), np.cos(a)])


def side_pose(
    hip_flex: float = 0.0,
    knee_flex: float = 0.0,
    lean: float = 0.0,
    facing: int = 1,
    foot_tilt: float = 0.0,
    other_hip_flex: float | None = None,
) -> np.ndarray:
    """(33, 2) side view in pixels. Angles in degrees; foot_tilt lifts the toes (deg).

    Thigh absolute angle from down = hip_flex - lean; shank = thigh - knee_flex; with a level
    foot the ankle dorsiflexion is knee_flex - (hip_flex - lean) - foot_tilt.
    """
    p = np.full((NUM_LANDMARKS, 2), np.nan)
    mid_hip = np.array([500.0, 500.0])
    trunk = 250 * np.array([facing * np.sin(np.radians(lean)), -np.cos(np.radians(lean))])
    mid_sh = mid_hip + trunk
    head = mid_sh + 0.25 * trunk
    right_hip_flex = hip_flex if other_hip_flex is None else other_hip_flex
    for side, hf, dz in (("left", hip_flex, -4.0), ("right", right_hip_flex, 4.0)):
        s = SIDE_LANDMARKS[side]
        hip = mid_hip + [dz, 0]
        knee = hip + 200 * _dir(hf - lean, facing)
        ankle = knee + 200 * _dir(hf - lean - knee_flex, facing)
        tilt = np.radians(foot_tilt)
        foot = 90 * np.array([facing * np.cos(tilt), -np.sin(tilt)])
        heel = ankle + [-facing * 15.0, 12.0]
        p[s["hip"]], p[s["knee"]], p[s["ankle"]] = hip, knee, ankle
        p[s["heel"]], p[s["foot_index"]] = heel, heel + foot
        p[s["shoulder"]] = mid_sh + [dz, 0]
        p[s["ear"]] = head + [dz, 0]
    p[NOSE] = head + [facing * 40.0, 5.0]
    return p


def front_pose(
    valgus: float = 0.0,
    drop_left_px: float = 0.0,
    shoulder_shift_px: float = 0.0,
    facing_camera: bool = True,
) -> np.ndarray:
    """(33, 2) front view: the person's left on image right (mirrored for a back view).

    valgus (deg) on both knees: knee displaced toward the other hip (negative = varus).
    shoulder_shift_px moves the shoulders toward the person's left.
    """
    p = np.full((NUM_LANDMARKS, 2), np.nan)
    lx = 1.0 if facing_camera else -1.0  # image x direction of the person's left
    d = 200 * np.tan(np.radians(valgus / 2))
    for side, sx in (("left", lx), ("right", -lx)):
        s = SIDE_LANDMARKS[side]
        hip = np.array([500 + 60 * sx, 500.0 + (drop_left_px if side == "left" else 0.0)])
        ankle = hip + [0, 400]
        knee = 0.5 * (hip + ankle) + [-sx * d, 0]  # medial = toward the midline
        p[s["hip"]], p[s["knee"]], p[s["ankle"]] = hip, knee, ankle
        p[s["heel"]] = ankle + [0, 10]
        p[s["foot_index"]] = ankle + [sx * 5, 40]
        p[s["shoulder"]] = np.array([500 + 80 * sx + lx * shoulder_shift_px, 250.0])
        p[s["ear"]] = np.array([500 + 30 * sx + lx * shoulder_shift_px, 150.0])
    p[NOSE] = [500 + lx * shoulder_shift_px, 160.0]
    return p


def frames(p: np.ndarray, n: int = 1) -> np.ndarray:
    return np.repeat(p[None], n, axis=0)


def a2d(p: np.ndarray, facing: int = 1) -> dict[str, float]:
    out = angles_2d(frames(p), np.array([facing]))
    return {k: float(v[0]) for k, v in out.items()}


# --- primitives -----------------------------------------------------------------------------


def test_unsigned_and_signed_basics():
    assert unsigned_angle(np.array([1.0, 0]), np.array([0.0, 1])) == pytest.approx(90)
    assert unsigned_angle(np.array([1.0, 0, 0]), np.array([-1.0, 0, 0])) == pytest.approx(180)
    # y down: from right (1, 0) to down (0, 1) is clockwise on screen -> +90.
    assert signed_angle_2d(np.array([1.0, 0]), np.array([0.0, 1])) == pytest.approx(90)
    assert signed_angle_2d(np.array([0.0, 1]), np.array([1.0, 0])) == pytest.approx(-90)


def test_degenerate_inputs_are_nan_without_warnings():
    zero = np.zeros(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(unsigned_angle(zero, np.array([1.0, 0])))
        assert np.isnan(signed_angle_2d(np.array([np.nan, 0]), np.array([1.0, 0])))
        assert np.isnan(unsigned_angle(np.zeros(3), np.array([1.0, 0, 0])))
        # Whole-pose degenerate inputs: all-NaN frame, all landmarks on one point.
        bad = np.stack([np.full((NUM_LANDMARKS, 2), np.nan), np.zeros((NUM_LANDMARKS, 2))])
        out = angles_2d(bad, np.array([1, 1]))
        assert all(np.isnan(v).all() for v in out.values())
        out3 = angles_3d(np.stack([np.full((NUM_LANDMARKS, 3), np.nan), np.zeros((NUM_LANDMARKS, 3))]))
        assert all(np.isnan(v).all() for v in out3.values())
        facing_direction(bad, np.array([0.0, 0.1]))


def test_collinear_hips_and_shoulders_leave_3d_trunk_frame_undefined():
    w = world_pose()
    # Shoulders on the hip line: no trunk direction orthogonal to the pelvis.
    w[L["shoulder"]] = w[L["hip"]] * 2
    w[R["shoulder"]] = w[R["hip"]] * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = angles_3d(frames(w))
    assert np.isnan(out["trunk_lean_3d_deg"][0])
    assert np.isnan(out["left_hip_flexion_3d_deg"][0])
    # Knee flexion does not need the body frame.
    assert np.isfinite(out["left_knee_flexion_3d_deg"][0])


def test_straight_leg_is_zero_not_nan():
    a = a2d(side_pose())
    assert a["left_knee_flexion_deg"] == pytest.approx(0, abs=1e-9)
    f = a2d(front_pose(0.0))
    assert f["left_knee_fppa_deg"] == pytest.approx(0, abs=1e-9)


# --- sagittal 2D ----------------------------------------------------------------------------


@pytest.mark.parametrize("facing", [1, -1])
def test_side_view_hip_and_knee_90(facing):
    a = a2d(side_pose(hip_flex=90, knee_flex=90, facing=facing), facing)
    for side in ("left", "right"):
        assert a[f"{side}_hip_flexion_deg"] == pytest.approx(90)
        assert a[f"{side}_knee_flexion_deg"] == pytest.approx(90)
        assert a[f"{side}_ankle_dorsiflexion_deg"] == pytest.approx(0, abs=1e-9)
    assert a["trunk_lean_deg"] == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("facing", [1, -1])
def test_ankle_dorsiflexion_and_plantarflexion(facing):
    # Knee over the toes: shank tilted 20 deg forward with a level foot.
    a = a2d(side_pose(hip_flex=0, knee_flex=20, facing=facing), facing)
    assert a["left_ankle_dorsiflexion_deg"] == pytest.approx(20)
    # Heel lift: toes pointing 30 deg down with a vertical shank -> plantarflexion.
    a = a2d(side_pose(foot_tilt=-30, facing=facing), facing)
    assert a["right_ankle_dorsiflexion_deg"] == pytest.approx(-30)


@pytest.mark.parametrize("facing", [1, -1])
def test_trunk_lean_and_hip_extension(facing):
    a = a2d(side_pose(hip_flex=60, knee_flex=60, lean=30, facing=facing, other_hip_flex=-15), facing)
    assert a["trunk_lean_deg"] == pytest.approx(30)
    assert a["left_hip_flexion_deg"] == pytest.approx(60)
    assert a["right_hip_flexion_deg"] == pytest.approx(-15)  # rear leg of a lunge: extension
    back = a2d(side_pose(lean=-10, facing=facing), facing)
    assert back["trunk_lean_deg"] == pytest.approx(-10)


def test_wrong_facing_flips_signed_sagittal_angles_and_unknown_gives_nan():
    p = side_pose(hip_flex=45, lean=20)
    wrong = a2d(p, -1)
    assert wrong["left_hip_flexion_deg"] == pytest.approx(-45)
    assert wrong["trunk_lean_deg"] == pytest.approx(-20)
    unknown = a2d(p, 0)
    assert np.isnan(unknown["left_hip_flexion_deg"]) and np.isnan(unknown["trunk_lean_deg"])
    assert unknown["left_knee_flexion_deg"] == pytest.approx(0, abs=1e-9)


# --- facing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("facing", [1, -1])
def test_facing_from_feet_and_nose(facing):
    t = np.arange(60) / 30
    xy = frames(side_pose(hip_flex=30, knee_flex=40, facing=facing), 60)
    assert (facing_direction(xy, t) == facing).all()


def test_facing_unknown_in_front_view():
    t = np.arange(60) / 30
    assert (facing_direction(frames(front_pose(5), 60), t) == 0).all()


def test_facing_rolling_majority_ignores_brief_flips():
    t = np.arange(90) / 30
    xy = frames(side_pose(hip_flex=20, facing=1), 90)
    xy[40:44] = side_pose(hip_flex=20, facing=-1)  # 4 noisy frames of the opposite facing
    f = facing_direction(xy, t)
    assert (f == 1).all()
    # A real turn (half the clip) is followed, within the half-window.
    xy[45:] = side_pose(hip_flex=20, facing=-1)
    f = facing_direction(xy, t)
    assert (f[:30] == 1).all() and (f[62:] == -1).all()


# --- frontal 2D -----------------------------------------------------------------------------


@pytest.mark.parametrize("facing_camera", [True, False])
def test_knee_fppa_valgus_positive_both_sides(facing_camera):
    a = a2d(front_pose(10, facing_camera=facing_camera))
    assert a["left_knee_fppa_deg"] == pytest.approx(10)
    assert a["right_knee_fppa_deg"] == pytest.approx(10)
    v = a2d(front_pose(-8, facing_camera=facing_camera))
    assert v["left_knee_fppa_deg"] == pytest.approx(-8)
    assert v["right_knee_fppa_deg"] == pytest.approx(-8)


@pytest.mark.parametrize("facing_camera", [True, False])
def test_pelvic_drop_and_lateral_lean_signs(facing_camera):
    a = a2d(front_pose(drop_left_px=20, facing_camera=facing_camera))
    expected = np.degrees(np.arctan2(20, 120))
    assert a["left_pelvic_drop_deg"] == pytest.approx(expected)
    assert a["right_pelvic_drop_deg"] == pytest.approx(-expected)
    lean = a2d(front_pose(shoulder_shift_px=50, facing_camera=facing_camera))
    assert lean["left_trunk_lateral_lean_deg"] == pytest.approx(np.degrees(np.arctan2(50, 250)))
    assert lean["right_trunk_lateral_lean_deg"] == pytest.approx(-np.degrees(np.arctan2(50, 250)))


# --- 3D -------------------------------------------------------------------------------------


def world_pose(
    yaw_deg: float = 0.0,
    hip_flex: float = 0.0,
    knee_flex: float = 0.0,
    lean: float = 0.0,
    lateral_lean: float = 0.0,
    drop_left: float = 0.0,
    valgus: float = 0.0,
) -> np.ndarray:
    """(33, 3) world landmarks (metres, y down) built in anatomical axes then yawed.

    Anatomical axes: F anterior, U up, Rt = F x U (ISB: right = anterior x up). yaw 0 faces
    the camera (-z).
    """
    yaw = np.radians(yaw_deg)
    F = np.array([np.sin(yaw), 0.0, -np.cos(yaw)])
    U = np.array([0.0, -1.0, 0.0])
    Rt = np.cross(F, U)

    def P(right: float, up: float, fwd: float) -> np.ndarray:
        return right * Rt + up * U + fwd * F

    w = np.full((NUM_LANDMARKS, 3), np.nan)
    dl = np.radians(drop_left)
    half = 0.1
    hips = {"left": P(-half * np.cos(dl), -half * np.sin(dl), 0), "right": P(half * np.cos(dl), half * np.sin(dl), 0)}
    ll, lat = np.radians(lean), np.radians(lateral_lean)
    trunk = P(-0.5 * np.sin(lat), 0.5 * np.cos(lat) * np.cos(ll), 0.5 * np.cos(lat) * np.sin(ll))
    for side, sx in (("left", -1.0), ("right", 1.0)):
        s = SIDE_LANDMARKS[side]
        hip = hips[side]
        h, k = np.radians(hip_flex), np.radians(knee_flex)
        # Valgus: the knee moves medially (toward the midline) in the frontal plane.
        g = np.radians(valgus / 2)
        thigh = 0.4 * (np.cos(g) * (-np.cos(h) * U + np.sin(h) * F) + np.sin(g) * (-sx) * Rt)
        shank_dir = -np.cos(h - k) * U + np.sin(h - k) * F
        shank = 0.4 * (np.cos(g) * shank_dir - np.sin(g) * (-sx) * Rt)
        knee = hip + thigh
        ankle = knee + shank
        # The foot stays level and forward, so dorsiflexion = knee_flex - hip_flex.
        heel = ankle + P(0, -0.05, -0.05)
        w[s["hip"]], w[s["knee"]], w[s["ankle"]] = hip, knee, ankle
        w[s["heel"]], w[s["foot_index"]] = heel, heel + P(0, 0, 0.2)
        w[s["shoulder"]] = trunk + P(sx * 0.18, 0, 0)
        w[s["ear"]] = trunk + P(sx * 0.07, 0.25, 0)
    w[NOSE] = trunk + P(0, 0.25, 0.1)
    return w


YAWS = [0.0, 37.0, 90.0, 180.0, -120.0]


@pytest.mark.parametrize("yaw", YAWS)
def test_3d_sagittal_angles_invariant_to_body_orientation(yaw):
    out = angles_3d(frames(world_pose(yaw, hip_flex=90, knee_flex=90, lean=25)))
    assert out["left_hip_flexion_3d_deg"][0] == pytest.approx(90 + 25)  # thigh against the trunk line
    assert out["right_knee_flexion_3d_deg"][0] == pytest.approx(90)
    assert out["trunk_lean_3d_deg"][0] == pytest.approx(25)
    assert out["left_ankle_dorsiflexion_3d_deg"][0] == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("yaw", YAWS)
def test_3d_dorsiflexion_and_hip_extension(yaw):
    out = angles_3d(frames(world_pose(yaw, knee_flex=20)))  # shank tilted forward 20 deg
    assert out["left_ankle_dorsiflexion_3d_deg"][0] == pytest.approx(20)
    ext = angles_3d(frames(world_pose(yaw, hip_flex=-20)))
    assert ext["right_hip_flexion_3d_deg"][0] == pytest.approx(-20)


@pytest.mark.parametrize("yaw", YAWS)
def test_3d_frontal_angles(yaw):
    v = angles_3d(frames(world_pose(yaw, valgus=12)))
    assert v["left_knee_fppa_3d_deg"][0] == pytest.approx(12)
    assert v["right_knee_fppa_3d_deg"][0] == pytest.approx(12)
    varus = angles_3d(frames(world_pose(yaw, valgus=-6)))
    assert varus["left_knee_fppa_3d_deg"][0] == pytest.approx(-6)
    d = angles_3d(frames(world_pose(yaw, drop_left=7)))
    assert d["left_pelvic_drop_3d_deg"][0] == pytest.approx(7)
    assert d["right_pelvic_drop_3d_deg"][0] == pytest.approx(-7)
    lat = angles_3d(frames(world_pose(yaw, lateral_lean=9)))
    assert lat["left_trunk_lateral_lean_3d_deg"][0] == pytest.approx(9)
    assert lat["right_trunk_lateral_lean_3d_deg"][0] == pytest.approx(-9)
    assert lat["trunk_lean_3d_deg"][0] == pytest.approx(0, abs=1e-9)


def test_3d_anterior_falls_back_to_handedness_without_the_head():
    w = world_pose(60, hip_flex=45, lean=10)
    with_head = angles_3d(frames(w))
    w[[NOSE, LEFT_EAR, RIGHT_EAR]] = np.nan
    no_head = angles_3d(frames(w))
    for k in ("left_hip_flexion_3d_deg", "trunk_lean_3d_deg"):
        assert no_head[k][0] == pytest.approx(with_head[k][0])


# --- properties -----------------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False)


def _transform(p: np.ndarray, rot_deg: float, scale: float, shift: tuple[float, float], mirror: bool = False):
    c, s = np.cos(np.radians(rot_deg)), np.sin(np.radians(rot_deg))
    q = p.copy()
    if mirror:
        q[:, 0] = -q[:, 0]
    return scale * q @ np.array([[c, s], [-s, c]]) + np.array(shift)


@settings(max_examples=60, deadline=None)
@given(
    hip=st.floats(-30, 120),
    knee=st.floats(0, 150),
    lean=st.floats(-20, 45),
    rot=st.floats(-180, 180),
    scale=st.floats(0.05, 20),
    dx=finite,
    dy=finite,
)
def test_relative_angles_invariant_to_similarity_transforms(hip, knee, lean, rot, scale, dx, dy):
    p = side_pose(hip_flex=hip, knee_flex=knee, lean=lean)
    a = a2d(p)
    b = a2d(_transform(p, rot, scale, (dx, dy)))
    for k in ("left_knee_flexion_deg", "left_ankle_dorsiflexion_deg", "left_hip_flexion_deg", "left_knee_fppa_deg"):
        assert b[k] == pytest.approx(a[k], abs=1e-6)
    # Image-referenced angles survive translation and scale (not rotation).
    c = a2d(_transform(p, 0.0, scale, (dx, dy)))
    for k in ("trunk_lean_deg", "left_pelvic_drop_deg"):
        assert c[k] == pytest.approx(a[k], abs=1e-6)
    # A mirrored image with the facing flipped reads the same sagittal angles.
    m = a2d(_transform(p, 0.0, 1.0, (0.0, 0.0), mirror=True), facing=-1)
    for k in ("left_hip_flexion_deg", "trunk_lean_deg", "right_knee_flexion_deg"):
        assert m[k] == pytest.approx(a[k], abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False), min_size=6, max_size=6))
def test_knee_flexion_in_range(v):
    p = side_pose()
    p[L["hip"]], p[L["knee"]], p[L["ankle"]] = v[0:2], v[2:4], v[4:6]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k = a2d(p)["left_knee_flexion_deg"]
    assert np.isnan(k) or 0 <= k <= 180


@settings(max_examples=40, deadline=None)
@given(yaw=st.floats(-180, 180), hip=st.floats(-30, 120), knee=st.floats(0, 140), lean=st.floats(-20, 40))
def test_3d_angles_invariant_to_yaw(yaw, hip, knee, lean):
    a = angles_3d(frames(world_pose(0.0, hip_flex=hip, knee_flex=knee, lean=lean)))
    b = angles_3d(frames(world_pose(yaw, hip_flex=hip, knee_flex=knee, lean=lean)))
    for k in a:
        if np.isnan(a[k][0]):  # e.g. a shank with no frontal-plane extent: FPPA undefined
            assert np.isnan(b[k][0]), k
        else:
            assert b[k][0] == pytest.approx(a[k][0], abs=1e-6), k


# --- pipeline -------------------------------------------------------------------------------


def test_compute_kinematics_end_to_end():
    n = 90
    t = np.arange(n) / 30
    knee = 45 + 40 * np.sin(2 * np.pi * 0.5 * t)
    xy = np.stack([side_pose(hip_flex=k, knee_flex=k, facing=-1) for k in knee])
    world = np.stack([world_pose(90, hip_flex=k, knee_flex=k) for k in knee])
    vis = np.ones((n, NUM_LANDMARKS))
    vis[30:33, L["knee"]] = 0.1  # a 0.1 s dropout: filled
    series = PoseSeries(t, xy, np.zeros((n, NUM_LANDMARKS)), world, vis, vis.copy(), 1000, 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cleaned, angles = compute_kinematics(series, KinematicsSettings())
    assert (angles.facing == -1).all()
    assert len(angles.swapped_frames) == 0
    assert np.isfinite(cleaned.image_xy[30:33, L["knee"]]).all()
    assert np.nanmax(np.abs(angles["left_knee_flexion_deg"] - knee)) < 2.0
    assert np.nanmax(np.abs(angles["right_hip_flexion_deg"] - knee)) < 2.0
    assert np.nanmax(np.abs(angles["left_knee_flexion_3d_deg"] - knee)) < 2.0
