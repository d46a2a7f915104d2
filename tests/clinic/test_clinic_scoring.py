"""mSEBT scoring against hand-worked examples (formcheck.clinic.scoring is pure: no DB, no video)."""

from __future__ import annotations

import pytest

from formcheck.clinic.scoring import Trial, best_trial, scale_trial, score_sebt
from formcheck.movements.thresholds import load_thresholds


def tape(leg, direction, *reaches, valid=None):
    valid = valid or [True] * len(reaches)
    return [Trial(leg=leg, direction=direction, trial=i, reach_cm=r, cm_source="tape", valid=v)
            for i, (r, v) in enumerate(zip(reaches, valid), start=1)]


def test_hand_worked_tape_example():
    # Left leg 90 cm: best A 62 (trial 2), PM 92 (trial 2), PL 87 (trial 3).
    # Composite = (62 + 92 + 87) / (3 × 90) × 100 = 241 / 270 × 100 = 89.26 %.
    # Right leg 91 cm: A 67, PM 95, PL 90 → 252 / 273 × 100 = 92.31 %.
    # Anterior difference |62 − 67| = 5 cm > 4 cm (Plisky 2006).
    trials = (tape("left", "anterior", 60, 62, 61) + tape("left", "posteromedial", 90, 92, 88)
              + tape("left", "posterolateral", 85, 86, 87) + tape("right", "anterior", 67)
              + tape("right", "posteromedial", 95) + tape("right", "posterolateral", 90))
    s = score_sebt(trials, {"left": 90, "right": 91})
    left, right = s.legs["left"], s.legs["right"]
    assert left.directions["anterior"].best_trial == 2
    assert left.directions["anterior"].reach_pct_limb == pytest.approx(62 / 90 * 100, abs=0.01)  # 68.89 %
    assert left.directions["posterolateral"].best_trial == 3
    assert left.composite_pct == pytest.approx(89.3, abs=0.05)
    assert right.composite_pct == pytest.approx(92.3, abs=0.05)
    assert s.anterior_diff_cm == pytest.approx(5.0)
    assert s.scales == ["tape"]
    codes = {(f.code, f.leg) for f in s.flags}
    assert codes == {
        ("sebt_anterior_asymmetry_cm", "left"),                 # left reaches less far
        ("sebt_composite_female_hs_basketball", "left"),        # 89.3 < 94
        ("sebt_composite_male_college_football", "left"),       # 89.3 < 89.6
        ("sebt_composite_female_hs_basketball", "right"),       # 92.3 < 94, but not < 89.6
    }
    flag = next(f for f in s.flags if f.code == "sebt_anterior_asymmetry_cm")
    assert flag.value == 5.0 and flag.threshold == 4.0 and flag.unit == "cm"
    assert "Plisky" in flag.source and "basketball" in flag.population
    assert "5.0 cm > 4 cm" in flag.detail
    assert "3.1 cm" in s.measurement_error.note and "Shaffer" in s.measurement_error.source


def test_invalid_trial_is_not_the_best_even_if_longest():
    trials = tape("left", "anterior", 70, 64, 66, valid=[False, True, True])
    d = score_sebt(trials, {"left": 80}).legs["left"].directions["anterior"]
    assert d.best_trial == 3 and d.reach_cm == 66 and d.valid_trials == 2
    assert [t.best for t in d.trials] == [False, False, True]


def test_no_flags_at_the_cut_offs_and_symmetric_reach():
    # A = 4 cm difference exactly: "greater than 4 cm" is not met. Composite exactly 94 % is not below 94.
    # Left 100 cm: 80 + 100 + 102 = 282 → 94.0 %. Right 100 cm: 84 + 100 + 98 = 282 → 94.0 %.
    trials = (tape("left", "anterior", 80) + tape("left", "posteromedial", 100)
              + tape("left", "posterolateral", 102) + tape("right", "anterior", 84)
              + tape("right", "posteromedial", 100) + tape("right", "posterolateral", 98))
    s = score_sebt(trials, {"left": 100, "right": 100})
    assert s.legs["left"].composite_pct == 94.0 and s.legs["right"].composite_pct == 94.0
    assert s.anterior_diff_cm == 4.0
    assert s.flags == []


def test_video_reach_scaled_by_leg_length():
    # Video: anterior 70 % of limb. Leg 88 cm → 61.6 cm.
    t = scale_trial(Trial(leg="right", direction="anterior", reach_pct_limb=70.0), 88.0)
    assert t.scale == "leg_length" and t.cm == pytest.approx(61.6) and t.pct_limb == 70.0


def test_marker_cm_wins_over_image_fraction_and_uses_measured_leg():
    # Marker says 63 cm; leg 90 cm → 70 % (the image fraction 75 % is ignored when cm and L are known).
    t = scale_trial(Trial(leg="left", direction="anterior", reach_pct_limb=75.0, reach_cm=63.0, cm_source="marker"),
                    90.0)
    assert t.scale == "marker" and t.cm == 63.0 and t.pct_limb == pytest.approx(70.0)


def test_without_any_scale_there_is_no_cm_and_no_4cm_rule():
    trials = [Trial(leg=leg, direction=d, reach_pct_limb=v) for leg, vals in
              (("left", (70, 100, 95)), ("right", (60, 100, 95)))
              for d, v in zip(("anterior", "posteromedial", "posterolateral"), vals)]
    s = score_sebt(trials)
    assert s.scales == ["image_limb"]
    assert s.anterior_diff_cm is None and s.anterior_diff_pct_limb == 10.0
    assert s.legs["left"].composite_pct == pytest.approx(88.3, abs=0.05)   # (70 + 100 + 95) / 3
    assert any("4 cm" in n for n in s.notes)
    assert not any(f.code == "sebt_anterior_asymmetry_cm" for f in s.flags)
    assert "video" in s.scale_note


def test_missing_direction_gives_no_composite_and_says_why():
    s = score_sebt(tape("left", "anterior", 60) + tape("left", "posteromedial", 90), {"left": 90})
    assert s.legs["left"].composite_pct is None
    assert "posterolateral" in s.legs["left"].composite_basis


def test_thresholds_come_from_the_reviewed_file():
    th = load_thresholds({"sebt_anterior_asymmetry_cm": {"value": 6.0}})
    trials = tape("left", "anterior", 62) + tape("right", "anterior", 67)
    assert score_sebt(trials, {"left": 90, "right": 90}, th).flags == []
    assert best_trial([]) is None
