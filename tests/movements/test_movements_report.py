"""Entry point, report model, feedback text, registry, and whole-pipeline robustness."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import formcheck.movements as mv
import movement_fixtures as mf
from formcheck.movements import MovementReport, analyze_movement, render_table
from formcheck.movements.context import MEASURE_TEXT
from formcheck.movements.exercises import create, registry


def test_entry_point_signature():
    sig = inspect.signature(mv.analyze_movement)
    assert list(sig.parameters) == ["pose", "angles", "exercise", "thresholds", "leg_length_cm", "floor_scale"]
    assert sig.parameters["exercise"].default == "auto"
    assert sig.parameters["thresholds"].default is None
    assert sig.parameters["leg_length_cm"].default is None
    assert sig.parameters["floor_scale"].default is None


def test_report_shape_and_json_roundtrip():
    r = analyze_movement(*mf.lunge(yaw=0))
    data = json.loads(r.model_dump_json())
    for key in ("exercise", "exercise_confidence", "view", "reps", "flags", "asymmetry",
                "unsupported_measures", "feedback"):
        assert key in data
    rep = data["reps"][0]
    for key in ("index", "side", "start_s", "bottom_s", "end_s", "events", "metrics", "flags"):
        assert key in rep
    assert set(data["feedback"]) == {"runner", "clinician"}
    assert {"measure", "reason", "advice"} <= set(data["unsupported_measures"][0])
    assert MovementReport.model_validate(data) == r


def test_events_are_ordered_in_time():
    for pose_angles in (mf.lunge(), mf.step_up(), mf.sebt(reach=0.6), mf.squat(pause_s=1.0)):
        r = analyze_movement(*pose_angles)
        for rep in r.reps:
            times = list(rep.events.values())
            assert times == sorted(times)
            assert rep.start_s <= rep.bottom_s <= rep.end_s


def test_feedback_per_rep_and_clip():
    r = analyze_movement(*mf.squat(trunk=60))
    assert r.feedback.runner[0].startswith("Bodyweight squat: 4 reps")
    assert any("chest" in line for line in r.feedback.runner)          # the trunk-lean cue
    assert any("threshold" in line for line in r.feedback.clinician)
    for rep in r.reps:
        assert rep.feedback.runner and rep.feedback.clinician
        assert "knee flex" in rep.feedback.clinician[0]                 # numbers for the clinician
    ok = analyze_movement(*mf.squat(trunk=10))
    assert any("no compensation" in line for line in ok.feedback.runner)


def test_runner_advice_grouped_by_camera_position():
    r = analyze_movement(*mf.lunge(yaw=0))
    side_lines = [line for line in r.feedback.runner if "side view" in line]
    assert len(side_lines) == 1 and side_lines[0].startswith("Hip flexion")


def test_render_table():
    r = analyze_movement(*mf.lunge(depths=[1, 1, 0.45, 1]))
    text = render_table(r)
    lines = text.splitlines()
    assert "Reverse lunge" in lines[0]
    assert lines[1].split()[:3] == ["#", "side", "full"]
    assert sum(1 for ln in lines if ln[:1].isdigit()) == 4
    assert "partial" in text
    assert "not measured" in text                                       # FPPA from a side view
    sebt = render_table(analyze_movement(*mf.sebt(reach=0.6)))
    assert "reach%LL" in sebt and "anterior" in sebt


def test_registry_entries_all_load():
    for name, spec in registry().items():
        ex = create(name)
        assert ex.family == spec.family
        assert len(ex.event_names) == 5
        assert all(m in MEASURE_TEXT for m in spec.measures), name


def test_all_registry_names_accepted_as_exercise():
    pose, angles = mf.lunge()
    for name in registry():
        r = analyze_movement(pose, angles, exercise=name)
        assert r.exercise_source == "user"


def _blank(pose, angles, a, b):
    pose.image_xy[a:b] = np.nan
    pose.world_xyz[a:b] = np.nan
    pose.visibility[a:b] = 0
    for k in angles.angles:
        angles.angles[k][a:b] = np.nan


def test_pipeline_robust_to_noise_and_gaps():
    base = analyze_movement(*mf.lunge(sides=("left", "right") * 3))
    pose, angles = mf.lunge(sides=("left", "right") * 3, noise_px=1.5, seed=3)
    for a in (50, 140, 300, 420):
        _blank(pose, angles, a, a + 6)           # 0.2 s dropouts, one near a bottom
    noisy = analyze_movement(pose, angles)
    assert noisy.exercise == base.exercise == "reverse_lunge"
    assert noisy.rep_count == base.rep_count == 6
    assert [r.side for r in noisy.reps] == [r.side for r in base.reps]


def test_empty_clip():
    pose, angles = mf.squat(n=1)
    _blank(pose, angles, 0, len(pose))
    r = analyze_movement(pose, angles)
    assert r.exercise == "unknown" and r.reps == [] and r.view == "unknown"


def test_time_scaled_clip_same_reps():
    for rep_s in (2.4, 3.0, 4.5):
        r = analyze_movement(*mf.squat(n=3, rep_s=rep_s))
        assert r.rep_count == 3, rep_s


def test_squat_per_leg_values_front_view_and_near_leg_side_view():
    r = analyze_movement(*mf.squat(yaw=0))
    m = r.reps[0].metrics
    assert m["left_peak_knee_flexion_deg"] == pytest.approx(m["right_peak_knee_flexion_deg"], abs=2)
    assert r.asymmetry and all(a.pct_diff < 5 for a in r.asymmetry)
    side = analyze_movement(*mf.squat(yaw=90))
    assert side.reps[0].metrics["measured_leg"] in ("left", "right")
    assert side.asymmetry == []          # no left/right comparison when one leg is hidden
