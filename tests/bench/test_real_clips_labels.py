"""Every labelled shared clip meets the real-clip criteria (bench/real_clips.py, issue item 7).

Labels: ../shared/samples/videos/labels.json, completed by bench/real_clips_labels.json (shared
values win but for the overlay's corrections, re-checked on the frames; FORMCHECK_SHARED_LABELS_ONLY=1
leaves them out). On each
clip, with the exercise left on auto: the family right or an abstention (never a wrong label at
confidence >= 0.5), complete reps exact, partial reps listed, the working side of every
labelled rep right, the labelled point on the subject inside the analysed person's box, and no
flag on a non-target clip. The scoring is bench/real_clips.py's `score_clip`, the one the
bench prints.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from formcheck.movements import analyze_movement
from formcheck.movements.report import Flag, MovementReport, Rep
from formcheck.series import PoseSeries
from samples_support import SHARED_SAMPLES, require_sample

_PATH = Path(__file__).resolve().parents[2] / "bench" / "real_clips.py"
_spec = importlib.util.spec_from_file_location("bench_real_clips", _PATH)
rc = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = rc
_spec.loader.exec_module(rc)

WITH_CORRECTIONS = os.environ.get("FORMCHECK_SHARED_LABELS_ONLY", "") != "1"


def _labels() -> list:
    """One param per labelled clip; without the shared labels one param that skips (fails
    under CI=true) through require_sample."""
    if not (SHARED_SAMPLES / "videos" / "labels.json").is_file():
        return [pytest.param(None, id="shared-labels-missing")]
    return [pytest.param(lb, id=lb["name"]) for lb in rc.load_labels(SHARED_SAMPLES, with_corrections=WITH_CORRECTIONS)]


@pytest.mark.samples
@pytest.mark.slow
@pytest.mark.parametrize("label", _labels())
def test_labelled_clip(analysed, label):
    if label is None:
        require_sample("videos/labels.json")
    require_sample(f"videos/{label['file']}")
    raw, clean, angles = analysed(label["name"])
    movement = analyze_movement(clean, angles, exercise="auto")
    score = rc.score_clip(label, movement, raw)
    assert not score["misses"], f"{label['name']}: " + "; ".join(score["misses"])


@pytest.mark.samples
@pytest.mark.parametrize("label", _labels())
def test_every_shared_clip_is_labelled(label):
    """Nothing the criteria read is left null (the overlay completes the shared file)."""
    if label is None:
        require_sample("videos/labels.json")
    needed = ["exercise", "family", "view", "complete_reps", "partial_reps", "people", "target"]
    assert not [k for k in needed if label.get(k) is None], label
    point = label.get("subject") or {}
    assert all(isinstance(point.get(k), (int, float)) for k in ("x", "y", "t")), point
    assert 0 <= point["x"] <= 1 and 0 <= point["y"] <= 1
    sides = label.get("sides_per_rep")
    if label["family"] != "squat":
        assert sides and len(sides) == label["complete_reps"], sides
        assert len(label.get("partial_rep_sides") or []) in (0, label["partial_reps"])
    times = label.get("rep_bottoms_s") or label.get("rep_tops_s")
    assert times and len(times) == label["complete_reps"], times


def test_overlay_only_fills_or_corrects():
    """The overlay holds only added fields and explained corrections, keyed by file name."""
    overlay = json.loads(rc.OVERLAY.read_text())
    assert "labels.json" in overlay["about"]
    for clip, fixes in overlay.get("corrections", {}).items():
        for field, fix in fixes.items():
            assert {"shared", "value", "reason"} <= set(fix), (clip, field)
            assert fix["shared"] != fix["value"] and len(fix["reason"]) > 40


# --- the scorer itself, on made-up analyses: a wrong clip must fail -------------------------


def _pose(box=(100, 50, 300, 400), t=(0.0, 1.0, 2.0), width=640, height=480) -> PoseSeries:
    import numpy as np

    p = PoseSeries.empty(np.array(t, float), width, height)
    x0, y0, x1, y1 = box
    p.image_xy[:, :, 0] = np.linspace(x0, x1, 33)
    p.image_xy[:, :, 1] = np.linspace(y0, y1, 33)
    p.visibility[:] = 1.0
    return p


def _report(exercise="reverse_lunge", conf=0.8, sides=("left", "right"), partial=(), flags=()) -> MovementReport:
    reps = [Rep(index=i + 1, side=s, start_s=3 * i, bottom_s=3 * i + 1.5, end_s=3 * i + 3) for i, s in enumerate(sides)]
    reps += [Rep(index=len(reps) + 1, side=s, start_s=20, bottom_s=21, end_s=22, complete=False) for s in partial]
    flag = [Flag(code=c, label=c, value=1, threshold=0, unit="deg", direction="above", evidence="published",
                 source="test", cue="") for c in flags]
    return MovementReport(exercise=exercise, exercise_confidence=conf, rep_count=len(sides),
                          partial_rep_count=len(partial), reps=reps, flags=flag)


LUNGE = {"name": "made_up", "exercise": "reverse_lunge", "family": "lunge", "target": True, "complete_reps": 2,
         "partial_reps": 0, "sides_per_rep": ["left", "right"], "rep_bottoms_s": [1.4, 4.6], "people": 1,
         "subject": {"x": 0.3, "y": 0.5, "t": 1.0}}
HINGE = {"name": "made_up_rdl", "exercise": "single_leg_romanian_deadlift", "family": "hinge", "target": False,
         "complete_reps": 1, "partial_reps": 0, "people": 1, "subject": {"x": 0.3, "y": 0.5, "t": 1.0}}


def test_scorer_passes_a_right_clip():
    s = rc.score_clip(LUNGE, _report(), _pose())
    assert s["misses"] == [] and s["family"]["result"] == "right"
    assert s["family"]["ok"] and s["complete_reps"]["ok"] and s["sides"]["ok"] and s["subject"]["ok"]


@pytest.mark.parametrize("report, pose, criterion", [
    (_report(exercise="step_up"), _pose(), "family"),                        # wrong label at 0.8
    (_report(sides=("left", "right", "left")), _pose(), "complete_reps"),
    (_report(partial=("left",)), _pose(), "partial_reps"),
    (_report(sides=("right", "right")), _pose(), "sides"),
    (_report(), _pose(box=(400, 50, 600, 400)), "subject"),                    # someone else analysed
])
def test_scorer_fails_a_wrong_clip(report, pose, criterion):
    s = rc.score_clip(LUNGE, report, pose)
    assert s[criterion]["ok"] is False
    assert any(m.startswith(criterion) for m in s["misses"])


def test_scorer_abstention_and_low_confidence():
    assert rc.score_clip(LUNGE, _report(exercise="step_up", conf=0.4), _pose())["family"]["result"] == "abstained"
    s = rc.score_clip(LUNGE, _report(exercise="unknown", conf=0.9, sides=()), _pose())
    assert s["family"]["result"] == "abstained" and s["family"]["ok"]
    assert s["complete_reps"]["ok"] is False                 # abstaining on a target clip still misses its reps


def test_scorer_non_target_clip():
    ok = rc.score_clip(HINGE, _report(exercise="unknown", conf=0.9, sides=()), _pose())
    assert ok["misses"] == [] and ok["family"]["result"] == "abstained"
    assert ok["complete_reps"]["ok"] is None and ok["sides"]["ok"] is None
    wrong = rc.score_clip(HINGE, _report(exercise="sebt", conf=0.9, sides=("right",), flags=("trunk_lean_sebt",)),
                          _pose())
    assert wrong["family"]["result"] == "wrong" and wrong["nontarget_flags"]["ok"] is False
    low = rc.score_clip(HINGE, _report(exercise="sebt", conf=0.45, sides=("right",)), _pose())
    assert low["family"]["result"] == "abstained" and low["misses"] == []
