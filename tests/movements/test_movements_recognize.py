"""Recognition of exercise, working side and camera view on stick-figure clips."""

from __future__ import annotations

import numpy as np
import pytest

import movement_fixtures as mf
from formcheck.movements import analyze_movement, render_table
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
           "step_up_knee_drive": "step_up"}.get(
        rep.exercise, "lunge" if "lunge" in rep.exercise or rep.exercise == "split_squat" else rep.exercise)
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


@pytest.mark.parametrize("clip", [
    lambda: mf.jump(box=0.4), lambda: mf.jump(box=0.4, yaw=0), lambda: mf.jump(box=0.4, yaw=45),
    lambda: mf.jump(box=0.4, height=0.05, tuck=0.3, land_dip=0.3),        # lands in a squat on the box
    lambda: mf.jump(box=0.4, height=0.05, tuck=0.3, land_dip=0.3, yaw=0),
    lambda: mf.jump(), lambda: mf.jump(yaw=0), lambda: mf.jump(tuck=0.25, land_dip=0.3),
    lambda: mf.marching(), lambda: mf.marching(yaw=0), lambda: mf.marching(hip_dip=0.14),
    lambda: mf.marching(hip_dip=0.14, yaw=0),
    lambda: mf.squat(depth=0.2, trunk=75),        # a hip hinge (deadlift): the hips flex far more than the knees
], ids=["box_jump_side", "box_jump_front", "box_jump_oblique", "box_jump_squat_landing_side",
        "box_jump_squat_landing_front", "jump_side", "jump_front", "squat_jump", "march_side", "march_front",
        "high_knees_side", "high_knees_front", "hinge"])
def test_non_target_movement_is_not_labelled(clip):
    """Jumps leave the floor with both feet (no step onto a support), marching lifts a knee without
    the feet apart on the floor, a hinge is no squat: none of the known exercises, no reps, no cues."""
    r = analyze_movement(*clip())
    assert r.exercise == "unknown" and r.exercise_confidence is None, r.recognition_scores
    assert r.reps == [] and r.all_flags() == []
    assert all(v < 0.5 for v in r.recognition_scores.values())


def test_unknown_reports_no_confidence_and_how_to_choose():
    r = analyze_movement(*mf.jump(box=0.4))
    assert r.model_dump(mode="json")["exercise_confidence"] is None
    text = "\n".join(r.feedback.runner + r.feedback.clinician + [render_table(r)])
    assert "confidence" not in text.lower()
    assert "--exercise" in text and "upload page" in text
    assert "Step-up" in text and "Reverse lunge" in text          # the exercises formcheck knows, in words
    assert "--help" in text                                        # where the names --exercise takes are


def test_split_squat_after_stepping_into_place():
    """Stepping into the split stance before the first rep is setting up, not a reverse lunge."""
    r = analyze_movement(*mf.split_squat(step_in=True, n=2))
    assert r.exercise == "split_squat"
    assert [rep.direction for rep in r.reps] == ["static", "static"]


def test_walking_lunge_variant():
    r = analyze_movement(*mf.lunge(kind="walking"))
    assert r.exercise == "walking_lunge" and r.exercise_confidence >= 0.5
    assert all(rep.direction == "walking" for rep in r.reps)


def test_rep_direction_agrees_with_the_exercise_given():
    r = analyze_movement(*mf.split_squat(), exercise="reverse_lunge")
    assert r.exercise == "reverse_lunge" and all(rep.direction == "reverse" for rep in r.reps)
    assert all(rep.metrics["foot_pattern"] == "static" for rep in r.reps)
    assert any("did not move as in a reverse lunge" in n for n in r.notes)


def test_knee_bend_without_a_split_stance_is_not_a_lunge_rep():
    """A knee dip with the feet together before the set (walking in, stepping into place) is not a rep."""
    dip, lunges = mf.squat(n=1, depth=0.3, trunk=10, rep_s=2.5), mf.lunge(sides=("left", "right") * 2)
    dt = 1 / 30
    t = np.r_[dip[0].time_s, lunges[0].time_s + dip[0].time_s[-1] + dt]

    def join(name):
        return np.concatenate([getattr(dip[0], name), getattr(lunges[0], name)])

    pose = lunges[0].copy_with(time_s=t, **{k: join(k) for k in ("image_xy", "image_z", "world_xyz", "visibility",
                                                                 "presence")})
    angles = mf.angles_from_pose(pose, 1.0)
    r = analyze_movement(pose, angles, exercise="reverse_lunge")
    assert r.rep_count == 4 and all(rep.start_s > dip[0].time_s[-1] for rep in r.reps)
    assert any(n.startswith("Not counted as reps") and "split stance" in n for n in r.notes)


@pytest.mark.parametrize("exercise", ["auto", "reverse_lunge"])
def test_walking_step_before_a_set_is_not_a_rep(exercise):
    """Walking into place (a walk-out from a rack) with a knee bend: the body travels, so in a set
    of lunges done on the spot it is not a rep, and it gives no side of its own."""
    r = analyze_movement(*mf.lunge(sides=("right", "left", "right", "left", "right"),
                                   kind=("walking",) + ("reverse",) * 4), exercise=exercise)
    assert r.exercise == "reverse_lunge" and r.rep_count == 4 and len(r.reps) == 4
    assert r.reps[0].start_s > 2.0                      # the walking step (0.75-2.75 s) is left out
    assert any(n.startswith("Not counted as reps") and "walking" in n for n in r.notes)
