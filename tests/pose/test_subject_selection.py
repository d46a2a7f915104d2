"""Who is the subject: clothing colours, re-identification across cuts, the person moving
through an exercise, hidden people, and the user's override. Constructed detections and
painted images; the real-clip composites are at the end (model, shared samples)."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck import landmarks as LM
from formcheck.pose import appearance
from formcheck.pose.masking import MaskPlan, interpolate_boxes, paint_over
from formcheck.pose.tracking import (
    Detection,
    NoSubjectAtPoint,
    SubjectHint,
    choose_subject,
    lower_body_movement,
)

FPS = 30


def body(x: float, y: float, height: float, knee_bend_deg: float = 0.0, squat: float = 0.0) -> np.ndarray:
    """(33, 2) landmarks of an upright person (feet at y + height), knees bent forward by
    `knee_bend_deg`, hips lowered by `squat` x leg length."""
    xy = np.zeros((33, 2))
    leg = 0.5 * height
    hip_y = y + 0.5 * height + squat * leg
    thigh = shank = leg / 2
    bend = np.radians(knee_bend_deg / 2)
    for side, dx in ((LM.LEFT_HIP, -0.05), (LM.RIGHT_HIP, 0.05)):
        xy[side] = (x + dx * height, hip_y)
    for hip, knee, ankle, heel, toe in ((LM.LEFT_HIP, LM.LEFT_KNEE, LM.LEFT_ANKLE, LM.LEFT_HEEL, LM.LEFT_FOOT_INDEX),
                                        (LM.RIGHT_HIP, LM.RIGHT_KNEE, LM.RIGHT_ANKLE, LM.RIGHT_HEEL,
                                         LM.RIGHT_FOOT_INDEX)):
        hx, hy = xy[hip]
        xy[knee] = (hx + thigh * np.sin(bend), hy + thigh * np.cos(bend))
        xy[ankle] = (hx, xy[knee][1] + shank * np.cos(bend))
        xy[heel] = xy[ankle] + (-0.02 * height, 0.02 * height)
        xy[toe] = xy[ankle] + (0.06 * height, 0.03 * height)
    for i, (dx, fy) in {LM.LEFT_SHOULDER: (-0.1, 0.2), LM.RIGHT_SHOULDER: (0.1, 0.2), LM.LEFT_ELBOW: (-0.12, 0.33),
                        LM.RIGHT_ELBOW: (0.12, 0.33), LM.LEFT_WRIST: (-0.12, 0.45), LM.RIGHT_WRIST: (0.12, 0.45),
                        LM.NOSE: (0.0, 0.06), LM.LEFT_EAR: (-0.03, 0.05), LM.RIGHT_EAR: (0.03, 0.05)}.items():
        xy[i] = (x + dx * height, y + fy * height + squat * leg)
    rest = [i for i in range(33) if not xy[i].any()]
    xy[rest] = xy[LM.NOSE]
    return xy


def det(xy: np.ndarray, colour: tuple[float, float, float] | None = None) -> Detection:
    looks = None if colour is None else np.tile(np.asarray(colour, float), (len(appearance.REGION_NAMES), 1))
    return Detection(xy, np.zeros(33), np.zeros((33, 3)), np.ones(33), np.ones(33), looks)


def squatting(i: int, x: float, height: float) -> np.ndarray:
    depth = 0.5 - 0.5 * np.cos(2 * np.pi * i / (2 * FPS))  # one rep every 2 s
    return body(x, 100, height, knee_bend_deg=100 * depth, squat=0.35 * depth)


RED, BLUE = (50.0, 60.0, 40.0), (40.0, 10.0, -50.0)


# -- clothing colour --------------------------------------------------------------------------


def test_colours_are_read_where_the_body_is_and_tell_two_outfits_apart():
    xy = body(200, 40, 400)
    image = np.full((500, 400, 3), 128, np.uint8)
    image[:, :, :] = (200, 30, 30)  # a red outfit fills the frame around the landmarks
    red = appearance.describe(image, xy, np.ones(33))
    image[:, :, :] = (30, 30, 200)
    blue = appearance.describe(image, xy, np.ones(33))
    assert np.isfinite(red).all() and np.isfinite(blue).all()
    assert appearance.distance(red, red) == 0
    assert appearance.distance(red, blue) > 50
    # a landmark model half the frame size: the colours are read at the scaled positions
    half = appearance.describe(image[::2, ::2], xy, np.ones(33), scale=0.5)
    assert appearance.distance(half, blue) < 1


def test_unseen_regions_give_no_colour_and_one_region_alone_no_distance():
    xy = body(200, 40, 400)
    vis = np.zeros(33)
    vis[[LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER, LM.LEFT_HIP, LM.RIGHT_HIP]] = 1  # torso only
    looks = appearance.describe(np.zeros((500, 400, 3), np.uint8), xy, vis)
    assert np.isfinite(looks[0]).all() and np.isnan(looks[1:]).all()
    assert np.isnan(appearance.distance(looks, looks))


# -- re-identification ------------------------------------------------------------------------


def test_one_person_across_a_cut_and_a_reframing_stays_one_person():
    """Take 1 at the left, a cut to black, take 2 zoomed and moved: one person, every frame kept."""
    times = np.arange(6 * FPS) / FPS
    frames = []
    for i in range(len(times)):
        if i < 2 * FPS:
            frames.append([det(squatting(i, 150, 300), RED)])
        elif i < 3 * FPS:
            frames.append([])  # black
        else:
            frames.append([det(squatting(i, 420, 420), (52.0, 61.0, 38.0))])  # same clothes, new exposure
    chosen, subject = choose_subject(times, frames, 640, 640)
    assert subject.people_seen == 1
    assert sum(d is not None for d in chosen) == 5 * FPS


def test_two_people_filmed_one_after_the_other_at_the_same_spot_are_two():
    times = np.arange(4 * FPS) / FPS
    frames = [[det(squatting(i, 300, 400), RED if i < 2 * FPS else BLUE)] for i in range(len(times))]
    chosen, subject = choose_subject(times, frames, 640, 640)
    assert subject.people_seen == 2


def test_a_moment_of_wrong_colours_does_not_split_a_person():
    times = np.arange(4 * FPS) / FPS
    frames = [[det(squatting(i, 300, 400), BLUE if 50 <= i < 55 else RED)] for i in range(len(times))]
    _, subject = choose_subject(times, frames, 640, 640)
    assert subject.people_seen == 1


def test_a_mirror_image_in_the_same_clothes_is_not_merged_with_the_person():
    times = np.arange(3 * FPS) / FPS
    frames = [[det(squatting(i, 200, 400), RED), det(squatting(i, 520, 250), RED)] for i in range(len(times))]
    chosen, subject = choose_subject(times, frames, 640, 640)
    assert subject.people_seen == 2
    assert all(d.box[0] < 400 for d in chosen)  # the larger, the person; the reflection is smaller


# -- the person doing the exercise ------------------------------------------------------------


def test_movement_is_high_for_squats_and_low_for_standing():
    squats = [det(squatting(i, 300, 400)) for i in range(4 * FPS)]
    standing = [det(body(300 + 3 * np.sin(i / 5), 100, 400, knee_bend_deg=5 * np.sin(i / 7) ** 2))
                for i in range(4 * FPS)]
    assert lower_body_movement(squats) == 1.0
    assert lower_body_movement(standing) < 0.3


def test_a_large_still_presenter_loses_to_the_smaller_athlete_exercising():
    times = np.arange(6 * FPS) / FPS
    frames = [[det(body(300, 60, 900), BLUE),  # in front, larger, shins cut off by the frame edge
               det(squatting(i, 980, 420), RED)] for i in range(len(times))]
    chosen, subject = choose_subject(times, frames, 1280, 720)
    assert all(d.box[0] > 800 for d in chosen)
    assert subject.people_seen == 2 and "moving through an exercise" in subject.reason
    largest, by_size = choose_subject(times, frames, 1280, 720, SubjectHint.parse("largest"))
    assert all(d.box[0] < 800 for d in largest) and by_size.method == "largest"


def test_a_point_picks_the_person_under_it_or_says_nobody_is_there():
    times = np.arange(2 * FPS) / FPS
    frames = [[det(squatting(i, 300, 400), RED), det(squatting(i, 900, 400), BLUE)] for i in range(len(times))]
    right, choice = choose_subject(times, frames, 1280, 720, SubjectHint.parse("0.7,0.4@1"))
    assert all(d.box[0] > 600 for d in right) and choice.method == "0.7,0.4@1"
    left, _ = choose_subject(times, frames, 1280, 720, SubjectHint.parse("0.23,0.4"))
    assert all(d.box[0] < 600 for d in left)
    with pytest.raises(NoSubjectAtPoint):
        choose_subject(times, frames, 1280, 720, SubjectHint.parse("0.5,0.05@1"))


@pytest.mark.parametrize("text", ["", "center", "1.5,0.5", "0.5", "0.5,0.5@-1", "a,b@c"])
def test_bad_subject_hints_are_refused(text):
    if text == "":
        assert SubjectHint.parse(text).rule == "auto"
        return
    with pytest.raises(ValueError):
        SubjectHint.parse(text)


# -- painting people over -----------------------------------------------------------------------


def test_paint_over_hides_the_boxes_but_keeps_the_subject():
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 100:] = 255
    out = paint_over(image, [np.array([0, 0, 150, 100.0])], keep=[np.array([120, 20, 180, 80.0])])
    assert (out[50, 10] == out[50, 130 - 10 - 90]).all()  # painted area is one colour
    assert (out[50, 150] == 255).all()  # the kept box is untouched
    assert (image[50, 10] == 0).all()  # the input is not changed
    half = paint_over(image, [np.array([0, 0, 150, 100.0])], scale=0.5)
    assert (half[50, 190] == 255).all()


def test_mask_plan_interpolates_the_subject_between_scans():
    times = np.arange(10) / 10
    keep = interpolate_boxes(times, np.array([0.0, 0.9]), np.array([[0, 0, 10, 10], [90, 0, 100, 10.0]]))
    assert keep[5, 0] == pytest.approx(50)
    plan = MaskPlan(times, [np.array([[0, 0, 50, 50.0]])] * 10, keep)
    image = np.full((60, 120, 3), 200, np.uint8)
    image[:, :5] = 0
    assert (plan.apply(image, 0.5, 1.0)[10, 1] != 0).all()


# -- real clips assembled at test time (the pose model; shared samples) ---------------------------


@pytest.fixture(scope="module")
def samples_dir():
    from samples_support import require_sample

    return require_sample("SOURCES.md").parent


def _poses(path, hint: str = "auto"):
    from formcheck.config import PoseSettings
    from formcheck.pose.landmarker import extract_poses
    from formcheck.sources import probe

    return extract_poses(probe(path), PoseSettings(), subject=SubjectHint.parse(hint))


def _box_centre_x(series) -> float:
    xy = series.image_xy[series.detected]
    return float(np.median((np.nanmin(xy[:, :, 0], axis=1) + np.nanmax(xy[:, :, 0], axis=1)) / 2)) / series.width


@pytest.mark.samples
@pytest.mark.slow
def test_athlete_behind_a_presenter_is_found_and_analysed(samples_dir, tmp_path):
    """MediaPipe alone saw only the presenter here: the scan paints him over and finds the athlete."""
    from composites import presenter_in_front

    clip, (x, _) = presenter_in_front(samples_dir, tmp_path / "presenter.mp4")
    series = _poses(clip)
    assert series.subject.people_seen == 2
    assert abs(_box_centre_x(series) - x) < 0.06, (_box_centre_x(series), x)
    assert series.detected.mean() > 0.9
    assert _box_centre_x(_poses(clip, "largest")) < 0.45  # asked for: the big man in front


@pytest.mark.samples
@pytest.mark.slow
def test_one_woman_across_edited_takes_is_one_person(samples_dir, tmp_path):
    from composites import edited_takes

    clip, duration = edited_takes(samples_dir, tmp_path / "edited.mp4")
    series = _poses(clip)
    assert series.subject.people_seen == 1
    assert series.detected.sum() >= 0.9 * (duration - 0.8) * series.fps  # all but the black frames


@pytest.mark.samples
@pytest.mark.slow
def test_two_people_one_after_the_other_are_counted_as_two(samples_dir, tmp_path):
    from composites import two_people_in_turn

    series = _poses(two_people_in_turn(samples_dir, tmp_path / "two.mp4"))
    assert series.subject.people_seen == 2


@pytest.mark.slow
def test_cli_says_when_nobody_is_at_the_point(tmp_path, capsys):
    from formcheck.cli import main

    sample = __import__("pathlib").Path(__file__).parents[2] / "samples" / "lunge_synthetic_side.mp4"
    code = main(["analyze", str(sample), "--out", str(tmp_path), "--model", "lite", "-q", "--subject", "0.02,0.02@0"])
    err = capsys.readouterr().err
    assert code == 2 and "no person at x=0.02, y=0.02" in err and "leave the subject on auto" in err
    assert not (tmp_path / "analysis.json").exists()
