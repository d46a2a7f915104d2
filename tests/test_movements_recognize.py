"""Recognition of exercise, working side and camera view on stick-figure clips."""

from __future__ import annotations

import pytest

import movement_fixtures as mf
from formcheck.movements import analyze_movement
from formcheck.movements.context import estimate_view

SEBT_ALL = [("left", "anterior"), ("left", "posteromedial"), ("left", "posterolateral"),
            ("right", "anterior"), ("right", "posteromedial"), ("right", "posterolateral")]


@pytest.mark.parametrize("clip, family", [
    (lambda: mf.squat(), "squat"),
    (lambda: mf.squat(yaw=0), "squat"),
    (lambda: mf.lunge(), "lunge"),
    (lambda: mf.lunge(yaw=0), "lunge"),
    (lambda: mf.lunge(kind="forward"), "lunge"),
    (lambda: mf.step_up(), "step_up"),
    (lambda: mf.step_up(yaw=0), "step_up"),
    (lambda: mf.sebt(reach=0.6), "sebt"),
    (lambda: mf.sebt(trials=SEBT_ALL, reach=0.6), "sebt"),
    (lambda: mf.sebt(reach=0.6, yaw=0), "sebt"),
    (lambda: mf.single_leg_squat(), "single_leg_squat"),
    (lambda: mf.single_leg_squat(yaw=90), "single_leg_squat"),
])
def test_family_recognised(clip, family):
    pose, angles = clip()
    rep = analyze_movement(pose, angles)
    fam = {"squat": "squat", "single_leg_squat": "single_leg_squat", "sebt": "sebt", "step_up": "step_up",
           "step_up_knee_drive": "step_up"}.get(rep.exercise, "lunge" if "lunge" in rep.exercise or rep.exercise == "split_squat" else rep.exercise)
    assert fam == family, rep.recognition_scores
    assert rep.exercise_source == "auto"
    assert rep.exercise_confidence > 0.4
    # the winner beats every other family clearly
    scores = sorted(rep.recognition_scores.values(), reverse=True)
    assert scores[0] > 2 * scores[1]


@pytest.mark.parametrize("kwargs, expected", [
    (dict(), "reverse_lunge"),
    (dict(kind="forward"), "forward_lunge"),
    (dict(knee_drive=True), "runners_lunge"),
    (dict(knee_drive=True, overhead=True), "runners_lunge_press"),
])
def test_lunge_variant(kwargs, expected):
    rep = analyze_movement(*mf.lunge(**kwargs))
    assert rep.exercise == expected


def test_step_up_knee_drive_variant():
    assert analyze_movement(*mf.step_up()).exercise == "step_up"
    assert analyze_movement(*mf.step_up(knee_drive=True)).exercise == "step_up_knee_drive"


@pytest.mark.parametrize("yaw", [90, 0, -90])
def test_alternating_lunge_sides(yaw):
    sides = ("left", "right", "left", "right", "right")
    rep = analyze_movement(*mf.lunge(sides=sides, yaw=yaw), exercise="reverse_lunge")
    assert [r.side for r in rep.reps] == list(sides)
    assert all(r.direction == "reverse" for r in rep.reps)


def test_step_up_lead_leg():
    sides = ("right", "left", "left")
    rep = analyze_movement(*mf.step_up(sides=sides))
    assert [r.side for r in rep.reps] == list(sides)
    assert set(rep.reps[0].events) == {"up_start", "top", "top_start", "down_start", "end"}


def test_sebt_stance_side_and_direction():
    rep = analyze_movement(*mf.sebt(trials=SEBT_ALL, reach=0.6))
    assert [(r.side, r.direction) for r in rep.reps] == SEBT_ALL
    assert set(rep.reps[0].events) == {"reach_start", "max_reach", "reach_hold_start", "return_start", "end"}


@pytest.mark.parametrize("yaw, view", [(90, "sagittal"), (-90, "sagittal"), (80, "sagittal"), (0, "frontal"),
                                       (180, "frontal"), (10, "frontal"), (45, "oblique")])
def test_view_estimate(yaw, view):
    pose, angles = mf.squat(yaw=yaw)
    assert estimate_view(pose, angles).view == view


def test_user_choice_is_respected_but_mismatch_is_noted():
    rep = analyze_movement(*mf.squat(), exercise="reverse_lunge")
    assert rep.exercise == "reverse_lunge" and rep.exercise_source == "user"
    assert any("looks more like squat" in n for n in rep.notes)


def test_alias_picks_variant_from_clip():
    assert analyze_movement(*mf.lunge(kind="forward"), exercise="lunge").exercise == "forward_lunge"


def test_unknown_exercise_name_raises():
    with pytest.raises(ValueError):
        analyze_movement(*mf.squat(), exercise="burpee")


def test_standing_still_is_unknown():
    pose, angles = mf.squat(n=1, depth=0.0, trunk=0.0)
    rep = analyze_movement(pose, angles)
    assert rep.exercise == "unknown" and rep.reps == []
    assert rep.notes
