"""Words people read (formcheck.labels, the feedback built on it) and the by-hand leg swap
(kinematics.swaps.swap_from_times, service.relabel.swap_times): issue #17."""

from __future__ import annotations

import re

import numpy as np

from formcheck import labels
from formcheck.kinematics.swaps import LEFT_CHAIN, RIGHT_CHAIN, SwapResult, swap_from_times
from formcheck.movements import exercises as ex_registry
from formcheck.movements.feedback import clip_feedback, not_known_text
from formcheck.movements.report import Asymmetry, MovementReport, UnsupportedMeasure
from formcheck.service.relabel import swap_times

SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def test_every_label_reads_as_words():
    for key in labels.METRICS:
        assert not SNAKE.search(labels.metric_label(key)), key
    assert labels.metric_label("right_composite_pct_leg") == "Right composite"
    assert labels.metric_unit("right_composite_pct_leg") == "% leg length"
    assert labels.metric_label("reach_pct_leg[anterior]") == "Reach (anterior)"
    assert labels.angle_label("left_knee_fppa_3d_deg") == \
        "Left knee caving in (frontal plane projection angle), 3D estimate"
    assert labels.measure_label("knee_fppa") == "Knee caving in (frontal plane projection angle)"
    assert labels.view_label("sagittal") == "side view"


def test_values_never_print_none_or_nan():
    assert labels.value_text(None) == labels.value_text(float("nan")) == "—"
    assert labels.value_text(True) == "yes" and labels.value_text(False) == "no"
    assert labels.metric_text("peak_knee_flexion_deg", 91.74) == "91.7°"
    assert labels.metric_text("stance_length_leg", 0.856) == "0.86 leg lengths"
    assert labels.metric_text("reach_scale", "leg_length") == "your leg length"
    assert labels.metric_text("some_new_code", "new_code") == "new code"


def test_numbers_and_units_in_each_readers_words():
    """One formatter for the single-clip report and the clinic's: a flag's value, its cut-off and
    the unit words, the clinic saying "limb length" where the runner's pages say "leg length"."""
    assert labels.number_text(1995, 0) == "1995" and labels.number_text(3, 1, "cm") == "3.0 cm"
    assert labels.number_text(None) == "—" and labels.number_text(True) == "yes"
    assert labels.flag_value_text(0.654, "ratio") == "0.65"                  # the single-clip report
    assert labels.flag_value_text(0.654, "ratio", labels.CLINIC_UNITS, digits=1) == "0.7"
    assert labels.flag_value_text(89.26, "pct_limb", labels.CLINIC_UNITS) == "89.3 % limb length"
    assert labels.threshold_text("below", 94.0, "pct_limb", labels.CLINIC_UNITS) == "< 94 % limb length"
    assert labels.threshold_text("above", 4.0, "cm") == "> 4 cm"
    assert [labels.unit_text("pct_limb", words) for words in (
        labels.UNITS, labels.CLINIC_TREND_UNITS, labels.CLINIC_SENTENCE_UNITS, labels.ATHLETE_SENTENCE_UNITS)] == [
        "% leg length", "% limb", "% of limb length", "% of leg length"]
    assert labels.unit_text("new_unit", labels.CLINIC_UNITS) == "new unit"


def test_evidence_line_does_not_repeat_itself():
    assert labels.evidence_text("coaching default", "coaching default", "none") == \
        "Coaching rule of thumb (no published cut-off)"
    assert labels.evidence_text("coaching default", "coaching default; direction of effect from Pinheiro 2020",
                                "none (no published cut-off for lunges)") == \
        "Coaching rule of thumb (no published cut-off); direction of effect from Pinheiro 2020. " \
        "No published cut-off for lunges"
    assert labels.evidence_text("published", "Herrington L. 2014", "females") == \
        "Published cut-off: Herrington L. 2014. Studied in: females"


def test_each_exercise_has_six_to_eight_key_numbers_with_labels():
    families = {name: spec.family for name, spec in ex_registry.registry().items()}
    for name, family in families.items():
        keys = labels.key_metrics(family)
        assert 6 <= len(keys) <= 8, name
        assert all(key in labels.METRICS for key in keys), name
    payload = labels.labels_payload(families)
    assert payload["key_metrics"]["step_up"] == labels.key_metrics("step_up")
    assert payload["metrics"]["peak_knee_flexion_deg"] == {"label": "Knee bend (deepest)", "unit": "°", "digits": 1}


def test_clinician_feedback_names_measures_in_words():
    report = MovementReport(
        exercise="forward_lunge", exercise_label="Forward lunge", exercise_confidence=0.9, view="sagittal",
        asymmetry=[Asymmetry(metric="peak_hip_flexion_deg", left=73.9, right=73.0, unit="deg", abs_diff=0.9,
                             pct_diff=1.2)],
        unsupported_measures=[UnsupportedMeasure(measure="knee_fppa", reason="filmed from a sagittal view",
                                                 advice="Film from the front.")],
        summary={"right_composite_pct_leg": 92.1})
    runner, clinician = clip_feedback(report)
    text = "\n".join([*runner, *clinician, not_known_text()])
    assert not SNAKE.search(text), SNAKE.findall(text)
    assert "Asymmetry in hip bend (deepest): L 73.9 / R 73.0 °" in text
    assert "Right composite: 92.1 % leg length" in text


def _swap_result(frames: int) -> SwapResult:
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(frames, 33, 2))
    return SwapResult(image_xy=xy, image_z=rng.normal(size=(frames, 33)), world_xyz=rng.normal(size=(frames, 33, 3)),
                      visibility=rng.uniform(size=(frames, 33)), presence=rng.uniform(size=(frames, 33)),
                      swapped_frames=np.array([1, 4]), collapsed_frames=np.array([], dtype=int))


def test_swap_from_times_exchanges_the_legs_between_the_times():
    auto = _swap_result(10)
    time_s = np.arange(10) * 0.5  # frame i at i/2 s
    fixed = swap_from_times(auto, time_s, [1.5, 3.0])  # frames 3, 4, 5 swapped; 6 on back as they were
    for frame in range(10):
        inside = 3 <= frame < 6
        left, right = (RIGHT_CHAIN, LEFT_CHAIN) if inside else (LEFT_CHAIN, RIGHT_CHAIN)
        np.testing.assert_array_equal(fixed.image_xy[frame, left], auto.image_xy[frame, LEFT_CHAIN])
        np.testing.assert_array_equal(fixed.world_xyz[frame, right], auto.world_xyz[frame, RIGHT_CHAIN])
        np.testing.assert_array_equal(fixed.visibility[frame, left], auto.visibility[frame, LEFT_CHAIN])
        np.testing.assert_array_equal(fixed.image_xy[frame, :11], auto.image_xy[frame, :11])  # head: untouched
    # relabelled frames: the automatic ones (1, 4) and the hand's (3, 4, 5); 4 twice is back to the model's
    assert fixed.swapped_frames.tolist() == [1, 3, 5]
    assert swap_from_times(auto, time_s, []) is auto


def test_the_same_swap_time_again_is_an_undo():
    assert swap_times([], 3.2) == [3.2]
    assert swap_times([3.2], 1.0) == [1.0, 3.2]
    assert swap_times([1.0, 3.2], 3.2) == [1.0]
