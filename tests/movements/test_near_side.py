"""Which leg is nearer the camera in a side view, and the note when the working leg is the far one."""

from __future__ import annotations

import warnings

import pytest

import movement_fixtures as mf
from formcheck.movements import analyze_movement
from formcheck.movements.context import MovementContext


def _report(pose, angles, exercise):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze_movement(pose, angles, exercise=exercise)


def _far_notes(report):
    return [n for n in report.notes if "farther from the camera" in n]


@pytest.mark.parametrize("yaw", [90.0, -90.0])
def test_near_side_follows_the_camera_side(yaw):
    pose, angles = mf.sebt(trials=[("left", "anterior")], yaw=yaw, reach=0.6)
    ctx = MovementContext(pose, angles)
    assert ctx.view.view == "sagittal"
    near = ctx.near_side
    assert near in ("left", "right")
    # the near hip is the one with the smaller relative depth (nearer the camera)
    left_z = pose.image_z[:, 23].mean()
    right_z = pose.image_z[:, 24].mean()
    assert near == ("left" if left_z < right_z else "right")
    other, _ = mf.sebt(trials=[("left", "anterior")], yaw=-yaw, reach=0.6)
    assert MovementContext(other, angles).near_side != near


def test_no_near_side_from_the_front():
    pose, angles = mf.sebt(trials=[("left", "anterior")], yaw=0.0, reach=0.6)
    assert MovementContext(pose, angles).near_side is None


def test_far_stance_leg_is_noted_in_the_msebt_and_a_near_one_is_not():
    notes = {}
    for yaw in (90.0, -90.0):
        pose, angles = mf.sebt(trials=[("left", "anterior")], yaw=yaw, reach=0.6)
        report = _report(pose, angles, "sebt_anterior")
        assert report.reps[0].side == "left"
        near = MovementContext(pose, angles).near_side
        assert report.near_side == near            # in the analysis JSON for the clinic
        notes[near] = _far_notes(report)
    assert notes["left"] == []
    assert len(notes["right"]) == 1
    assert "stance leg (left)" in notes["right"][0] and "reach's starting point" in notes["right"][0]
    assert "1 of 1 trials" in notes["right"][0]


def test_far_stepping_leg_is_noted_for_step_ups_and_counted_per_rep():
    pose, angles = mf.step_up(sides=("right", "left", "right"), yaw=90.0)
    report = _report(pose, angles, "step_up")
    near = MovementContext(pose, angles).near_side
    sides = [r.side for r in report.reps]
    assert sorted(set(sides)) == ["left", "right"]
    far = [s for s in sides if s != near]
    (note,) = _far_notes(report)
    assert f"stepping leg ({far[0]})" in note and f"{len(far)} of {len(sides)} reps" in note


@pytest.mark.parametrize("make, exercise", [(mf.squat, "squat"), (mf.lunge, "reverse_lunge")])
def test_two_legged_exercises_get_no_far_leg_note(make, exercise):
    pose, angles = make(yaw=90.0)
    report = _report(pose, angles, exercise)
    assert report.rep_count > 0 and MovementContext(pose, angles).near_side is not None
    assert _far_notes(report) == []
