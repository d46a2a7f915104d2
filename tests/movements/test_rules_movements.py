"""Compensation flags: every flag is complete, thresholds come from the config and can be
overridden, unsupported measures give camera advice."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

import movement_fixtures as mf
from formcheck.movements import analyze_movement, load_thresholds
from formcheck.movements.report import Rep
from formcheck.movements.rules import asymmetry, consistency, rep_flags
from formcheck.movements.segment import CUT_END, CUT_START, SHALLOW

SEBT_ALL = [("left", "anterior"), ("left", "posteromedial"), ("left", "posterolateral"),
            ("right", "anterior"), ("right", "posteromedial"), ("right", "posterolateral")]


def _clips():
    return [
        (mf.single_leg_squat(valgus=0.4, pelvic_drop=8), {}),
        (mf.squat(trunk=60), {}),
        (mf.squat(yaw=0, valgus=0.3), {}),
        (mf.lunge(depths=[1, 1, 0.5, 1]), {}),
        (mf.lunge(yaw=0), {}),
        (mf.step_up(knee_drive=True), {}),
        (mf.sebt(trials=SEBT_ALL, reaches=[0.7, 0.5, 0.5, 0.5, 0.5, 0.5]),
         {"leg_length_cm": {"left": 90, "right": 88}}),
        (mf.sebt(trials=[("left", "anterior"), ("right", "anterior")], heel_lift=True, reach=0.6), {}),
        (mf.sebt(trials=[("left", "anterior")], hip_ratio=-0.5, reach=0.6), {}),
    ]


def test_every_flag_has_value_threshold_unit_source_and_cue():
    th = load_thresholds()
    n = 0
    codes = set()
    for (pose, angles), kw in _clips():
        report = analyze_movement(pose, angles, **kw)
        for f in report.all_flags():
            n += 1
            codes.add(f.code)
            assert math.isfinite(f.value) and math.isfinite(f.threshold)
            assert f.unit and f.source and f.cue and f.label and f.detail
            assert f.code in th.entries
            assert f.threshold == th[f.code].value
            assert f.evidence in ("published", "coaching default")
            if f.evidence == "coaching default":
                assert "coaching default" in f.detail
            else:
                assert f.population, f.code            # published cut-offs say whom they were measured on
            assert (f.value > f.threshold) if f.direction == "above" else (f.value < f.threshold)
    assert n > 10
    # the scenarios above exercise the main rules
    assert {"knee_valgus_fppa", "pelvic_drop", "trunk_lean_squat", "partial_rep", "sebt_trial_invalid",
            "sebt_anterior_asymmetry_cm", "knee_dominant_ratio_sebt"} <= codes


def test_every_threshold_entry_is_documented():
    th = load_thresholds()
    for name, e in th.entries.items():
        assert e.source and e.cue and e.unit and e.label, name
        if e.evidence == "coaching default":
            assert "coaching default" in e.source, name
        else:
            assert e.population and any(ch.isdigit() for ch in e.source), name   # paper + year


def test_knee_valgus_flag_only_when_knee_caves():
    clean = analyze_movement(*mf.single_leg_squat())
    valgus = analyze_movement(*mf.single_leg_squat(valgus=0.4))
    assert not [f for f in clean.all_flags() if f.code == "knee_valgus_fppa"]
    flags = [f for f in valgus.all_flags() if f.code == "knee_valgus_fppa"]
    assert len(flags) == valgus.rep_count == 3
    assert flags[0].source.startswith("Herrington")


def test_contralateral_pelvic_drop_flag():
    r = analyze_movement(*mf.single_leg_squat(pelvic_drop=8, stance="right"))
    flags = [f for f in r.all_flags() if f.code == "pelvic_drop"]
    assert flags and all(f.side == "right" for f in flags)
    assert flags[0].value == pytest.approx(8.0, abs=1.0)
    assert flags[0].evidence == "coaching default"


def test_knee_dominant_at_max_anterior_reach():
    good = analyze_movement(*mf.sebt(trials=[("left", "anterior")], reach=0.6))
    knee_dom = analyze_movement(*mf.sebt(trials=[("left", "anterior")], hip_ratio=-0.5, reach=0.6))
    assert not [f for f in good.all_flags() if f.code.startswith("knee_dominant")]
    f = [f for f in knee_dom.all_flags() if f.code == "knee_dominant_ratio_sebt"]
    assert f and "Pinheiro" in f[0].source and f[0].evidence == "coaching default"
    assert "maximal anterior reach" in f[0].detail


def test_threshold_override_dict_and_shorthand():
    pose, angles = mf.single_leg_squat(valgus=0.4)
    base = analyze_movement(pose, angles)
    assert any(f.code == "knee_valgus_fppa" for f in base.all_flags())
    for override in ({"knee_valgus_fppa": {"value": 80.0}}, {"knee_valgus_fppa": 80.0}):
        th = load_thresholds(override)
        assert th["knee_valgus_fppa"].value == 80.0
        assert th["knee_valgus_fppa"].source.startswith("Herrington")   # other fields kept
        r = analyze_movement(pose, angles, thresholds=th)
        assert not any(f.code == "knee_valgus_fppa" for f in r.all_flags())
        assert r.thresholds_overridden == ["knee_valgus_fppa"]
    # lowering a cut-off adds flags
    th = load_thresholds({"pelvic_drop": {"value": -100.0}})
    assert any(f.code == "pelvic_drop" for f in analyze_movement(pose, angles, thresholds=th).all_flags())


def test_threshold_override_toml_file_and_disable(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text('[trunk_lean_squat]\nvalue = 70.0\nsource = "my clinic"\n\n[knee_valgus_fppa]\nenabled = false\n')
    th = load_thresholds(p)
    assert th["trunk_lean_squat"].value == 70.0 and th["trunk_lean_squat"].source == "my clinic"
    r = analyze_movement(*mf.squat(trunk=60), thresholds=th)
    assert not any(f.code == "trunk_lean_squat" for f in r.all_flags())
    r = analyze_movement(*mf.single_leg_squat(valgus=0.4), thresholds=th)
    assert not any(f.code == "knee_valgus_fppa" for f in r.all_flags())


def test_override_rejects_incomplete_new_entry():
    with pytest.raises(ValidationError):
        load_thresholds({"brand_new_rule": {"value": 3}})


@pytest.mark.parametrize("clip, measure, words", [
    (lambda: mf.lunge(yaw=0), "hip_flexion", ["Hip flexion needs a side view", "hip height", "3 m", "whole body"]),
    (lambda: mf.single_leg_squat(yaw=90), "knee_fppa", ["front", "3 m"]),
    (lambda: mf.single_leg_squat(yaw=90), "pelvic_drop", ["front"]),
])
def test_unsupported_measure_gives_camera_advice_instead_of_number(clip, measure, words):
    r = analyze_movement(*clip())
    um = {u.measure: u for u in r.unsupported_measures}
    assert measure in um
    for w in words:
        assert w in um[measure].advice
    key = {"hip_flexion": "peak_hip_flexion_deg", "knee_fppa": "peak_knee_fppa_deg",
           "pelvic_drop": "peak_contralateral_pelvic_drop_deg"}[measure]
    assert all(rep.metrics.get(key) is None for rep in r.reps)
    assert any("view" in line for line in r.feedback.runner)


def test_sebt_anterior_asymmetry_needs_leg_length():
    pose, angles = mf.sebt(trials=[("left", "anterior"), ("right", "anterior")], reaches=[0.7, 0.5])
    r = analyze_movement(pose, angles)
    assert "sebt_anterior_asymmetry_cm" in {u.measure for u in r.unsupported_measures}
    r = analyze_movement(pose, angles, leg_length_cm={"left": 90.0, "right": 90.0})
    f = [f for f in r.flags if f.code == "sebt_anterior_asymmetry_cm"]
    assert f and f[0].unit == "cm" and f[0].value > 4 and "Plisky" in f[0].source
    assert "basketball" in f[0].population
    assert all(rep.metrics.get("reach_cm") for rep in r.reps)


def test_sebt_composite_cutoffs_with_populations():
    # reaches at 45 % of leg length are too short for confident recognition: the test is chosen
    r = analyze_movement(*mf.sebt(trials=SEBT_ALL, reach=0.45), exercise="sebt")
    codes = {f.code: f for f in r.flags}
    assert "left_composite_pct_leg" in r.summary and "right_composite_pct_leg" in r.summary
    assert codes["sebt_composite_female_hs_basketball"].threshold == 94.0
    assert "female" in codes["sebt_composite_female_hs_basketball"].population
    assert codes["sebt_composite_male_college_football"].threshold == 89.6
    assert "football" in codes["sebt_composite_male_college_football"].population


def test_sebt_heel_lift_makes_trial_invalid():
    r = analyze_movement(*mf.sebt(trials=[("left", "anterior"), ("right", "anterior")], heel_lift=True, reach=0.6))
    assert all(rep.metrics["valid"] is False for rep in r.reps)
    assert all("heel" in rep.metrics["invalid_reasons"] for rep in r.reps)
    ok = analyze_movement(*mf.sebt(trials=[("left", "anterior"), ("right", "anterior")], reach=0.6))
    assert all(rep.metrics["valid"] is True for rep in ok.reps)


def test_partial_rep_flagged_and_excluded():
    r = analyze_movement(*mf.lunge(depths=[1, 1, 0.45, 1]), exercise="reverse_lunge")
    assert len(r.reps) == 4 and r.rep_count == 3 and r.partial_rep_count == 1
    assert not r.reps[2].complete
    assert [f.code for f in r.reps[2].flags].count("partial_rep") == 1
    assert any("partial" in n for n in r.notes)


def _rep(i, side, **metrics):
    return Rep(index=i, side=side, start_s=i, bottom_s=i + 0.5, end_s=i + 1, metrics=metrics)


def test_rules_on_constructed_metrics():
    th = load_thresholds()
    rep = _rep(1, "left", peak_hip_flexion_deg=40.0, peak_knee_flexion_deg=100.0, hip_knee_ratio=0.4,
               peak_trunk_lean_deg=35.0, ankle_dorsiflexion_bottom_deg=10.0, shank_inclination_bottom_deg=12.0,
               heel_lift_deg=20.0)
    codes = {f.code for f in rep_flags(th, "lunge", rep, {}, 100.0)}
    assert {"knee_dominant_ratio", "trunk_lean_lunge", "heel_lift"} <= codes
    assert "ankle_dorsiflexion_limited" not in codes          # not applied to lunges (documented)
    codes = {f.code for f in rep_flags(th, "squat", rep, {}, 100.0)}
    assert "ankle_dorsiflexion_limited" in codes and "trunk_lean_squat" not in codes   # 35 < 45
    # knee-dominant needs a real knee bend
    shallow = _rep(2, "left", peak_knee_flexion_deg=20.0, hip_knee_ratio=0.2)
    assert not [f for f in rep_flags(th, "lunge", shallow, {}, 100.0) if f.code == "knee_dominant_ratio"]


def test_asymmetry_pct_and_abs():
    th = load_thresholds()
    reps = [_rep(i, s, peak_knee_flexion_deg=v) for i, (s, v) in
            enumerate([("left", 100.0), ("right", 80.0), ("left", 102.0), ("right", 78.0)], start=1)]
    rows, flags = asymmetry(th, "lunge", reps, [("peak_knee_flexion_deg", "deg")])
    assert rows[0].abs_diff == pytest.approx(22.0) and rows[0].pct_diff == pytest.approx(21.8, abs=0.1)
    assert flags and flags[0].side == "right"
    # 9 % difference: no flag
    reps[1].metrics["peak_knee_flexion_deg"] = reps[3].metrics["peak_knee_flexion_deg"] = 92.0
    assert asymmetry(th, "lunge", reps, [("peak_knee_flexion_deg", "deg")])[1] == []


def test_inconsistent_reps_flag():
    th = load_thresholds()
    steady = [_rep(i, "both", peak_knee_flexion_deg=v) for i, v in enumerate([100, 98, 103, 101], 1)]
    messy = [_rep(i, "both", peak_knee_flexion_deg=v) for i, v in enumerate([100, 65, 110, 70], 1)]
    assert consistency(th, "squat", steady, "peak_knee_flexion_deg") == []
    f = consistency(th, "squat", messy, "peak_knee_flexion_deg")
    assert f and f[0].code == "inconsistent_reps" and f[0].unit == "pct"


def test_frontal_view_knee_flexion_from_3d_is_noted():
    r = analyze_movement(*mf.lunge(yaw=0))
    assert any("3D" in n for n in r.notes)
    assert all(rep.metrics["angle_source"] == "3d" for rep in r.reps)
    assert all(rep.metrics["peak_knee_flexion_deg"] > 70 for rep in r.reps)


def test_partial_reps_feed_no_flags_only_shallow_is_flagged_partial():
    th = load_thresholds()
    bad = dict(peak_hip_flexion_deg=40.0, peak_knee_flexion_deg=100.0, hip_knee_ratio=0.4, peak_trunk_lean_deg=60.0)
    whole = _rep(1, "left", **bad)
    assert rep_flags(th, "lunge", whole, {}, 100.0)
    cut = _rep(2, "left", **bad)
    cut.complete, cut.partial_reason = False, CUT_START
    assert rep_flags(th, "lunge", cut, {}, 30.0) == []
    shallow = _rep(3, "left", **bad)
    shallow.complete, shallow.partial_reason = False, SHALLOW
    assert [f.code for f in rep_flags(th, "lunge", shallow, {}, 40.0)] == ["partial_rep"]


def test_asymmetry_needs_min_reps_per_side_from_thresholds():
    th = load_thresholds()
    assert th["asymmetry_pct"].extra("min_reps_per_side", 0) == 2
    one_right = [_rep(i, s, peak_knee_flexion_deg=v) for i, (s, v) in
                 enumerate([("left", 100.0), ("left", 102.0), ("left", 101.0), ("right", 50.0)], start=1)]
    assert asymmetry(th, "lunge", one_right, [("peak_knee_flexion_deg", "deg")]) == ([], [])
    two_right = one_right + [_rep(5, "right", peak_knee_flexion_deg=52.0)]
    rows, flags = asymmetry(th, "lunge", two_right, [("peak_knee_flexion_deg", "deg")])
    assert rows and flags and flags[0].side == "right"
    # a partial rep does not count toward the minimum
    two_right[-1].complete, two_right[-1].partial_reason = False, CUT_END
    assert asymmetry(th, "lunge", two_right, [("peak_knee_flexion_deg", "deg")]) == ([], [])


def test_consistency_min_reps_from_thresholds():
    messy = [_rep(i, "both", peak_knee_flexion_deg=v) for i, v in enumerate([100, 65, 110, 70], 1)]
    assert consistency(load_thresholds(), "squat", messy, "peak_knee_flexion_deg")
    th = load_thresholds({"inconsistent_reps": {"min_reps": 5}})
    assert consistency(th, "squat", messy, "peak_knee_flexion_deg") == []


def _cut(pose, angles, a, b):
    """Frames a:b of a clip, its clock restarted at 0."""
    t = pose.time_s[a:b] - pose.time_s[a]
    p = pose.copy_with(time_s=t, image_xy=pose.image_xy[a:b], image_z=pose.image_z[a:b],
                       world_xyz=pose.world_xyz[a:b], visibility=pose.visibility[a:b], presence=pose.presence[a:b])
    return p, mf.angle_series(t, {k: v[a:b] for k, v in angles.angles.items()}, facing=angles.facing[0])


def test_clip_starting_at_the_bottom_first_rep_partial_without_flags():
    pose, angles = mf.squat(n=4, trunk=60)             # every full rep leans past the squat cut-off
    first_bottom = int(0.75 * 30 + 1.2 * 30)           # rep 1: starts 0.75 s, 1.2 s down
    r = analyze_movement(*_cut(pose, angles, first_bottom, len(pose)), exercise="squat")
    assert (r.reps[0].complete, r.reps[0].partial_reason, r.reps[0].flags) == (False, CUT_START, [])
    assert r.rep_count == 3 and r.partial_rep_count == 1
    assert all(any(f.code == "trunk_lean_squat" for f in rep.flags) for rep in r.reps[1:])
    assert any("cut by the clip's start" in n for n in r.notes)


def test_rep_cut_by_the_clip_end_is_listed_partial_without_flags():
    pose, angles = mf.lunge(sides=("left", "right") * 2, trunk=40)   # trunk lean past the lunge cut-off
    end = int((0.75 + 3 * 3.0 + 1.0) * 30)                           # inside rep 4, at its bottom
    r = analyze_movement(*_cut(pose, angles, 0, end), exercise="reverse_lunge")
    assert [rep.partial_reason for rep in r.reps] == [None, None, None, CUT_END]
    assert r.reps[3].flags == [] and r.rep_count == 3
    assert all(rep.flags for rep in r.reps[:3])


def test_one_rep_on_a_side_gives_no_asymmetry_flag():
    # three left reps and one much shallower right rep
    r = analyze_movement(*mf.lunge(sides=("left", "left", "left", "right"), depths=[1, 1, 1, 0.62]),
                         exercise="reverse_lunge")
    assert [rep.side for rep in r.reps if rep.complete] == ["left", "left", "left", "right"]
    assert r.asymmetry == [] and not [f for f in r.flags if f.code == "asymmetry_pct"]
    assert any("at least 2 complete reps per side" in n for n in r.notes)
