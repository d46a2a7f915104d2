"""Fast checks of bench/accuracy.py's pure scoring helpers (no rendering, no model)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "accuracy.py"


@pytest.fixture(scope="module")
def acc():
    spec = importlib.util.spec_from_file_location("bench_accuracy", _PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod          # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_error_stats(acc):
    s = acc.error_stats(np.array([1.0, -1.0, 3.0, -3.0]))
    assert s["n"] == 4 and s["mae"] == pytest.approx(2.0) and s["bias"] == pytest.approx(0.0)
    assert s["rmse"] == pytest.approx(np.sqrt(5.0))
    assert acc.error_stats(np.zeros(0))["mae"] is None


def test_angle_errors_skip_hidden_and_nan(acc):
    T = 4
    vis = np.ones((T, 33), bool)
    vis[1, 26] = False                       # right knee hidden in frame 1
    truth = {"fc2d_left_knee_flexion_deg": np.array([10.0, 10, 10, 10]),
             "fc2d_right_knee_flexion_deg": np.array([20.0, 20, 20, np.nan])}
    pred = {"left_knee_flexion_deg": np.array([12.0, 12, np.nan, 12]),
            "right_knee_flexion_deg": np.array([19.0, 0, 19, 19])}
    e = acc.angle_errors(pred, truth, vis, "knee_flexion")
    assert sorted(e.tolist()) == [-1.0, -1.0, 2.0, 2.0, 2.0]


def test_flag_outcome_and_precision_recall(acc):
    o1 = acc.flag_outcome((("knee_valgus", 10.0),), ["knee_valgus_fppa", "heel_lift"])
    assert (o1["tp"], o1["fp"], o1["hits"], o1["misses"]) == (1, 1, 1, 0)  # heel_lift is in the mapping
    o2 = acc.flag_outcome((), ["pelvic_drop", "asymmetry_pct"])            # asymmetry_pct not in the mapping
    assert (o2["tp"], o2["fp"], o2["hits"], o2["misses"]) == (0, 1, 0, 0)
    o3 = acc.flag_outcome((("trunk_lean", 15.0),), [])
    assert o3["misses"] == 1 and o3["missed"] == ["trunk_lean"]
    p, r, c = acc.precision_recall([o1, o2, o3])
    assert p == pytest.approx(1 / 3) and r == pytest.approx(1 / 2)
    assert acc.precision_recall([])[:2] == (None, None)


def test_match_reach(acc):
    trials = [{"max_reach_s": 2.0, "max_reach_norm": 0.6}, {"max_reach_s": 6.0, "max_reach_norm": 0.6}]
    reps = [{"bottom_s": 2.2, "reach_pct_leg": 63.0}, {"bottom_s": 9.0, "reach_pct_leg": 50.0}]
    m = acc.match_reach(trials, reps)
    assert m[0]["err_pct"] == pytest.approx(3.0) and m[1]["err_pct"] is None


def test_matrix_default_is_small_and_keys_unique(acc):
    specs = acc.build_matrix(False, 640, 360)
    assert 15 <= len(specs) <= 30
    assert len({s.key() for s in specs}) == len(specs)
    views = {s.view for s in specs}
    assert views == {"side", "front", "oblique"}
    assert {s.body for s in specs} == {"A", "B"}
    assert all(n in acc.EXPECTED_FLAGS for s in specs for n, _ in s.comps)
    # both kinds of compensation cells: above the cut-off (must flag) and below it (must not)
    assert {s.expect_flags for s in specs if s.comps} == {True, False}


def test_sub_threshold_injection_scores_as_a_negative(acc):
    o = acc.flag_outcome((("knee_valgus", 5.0),), ["knee_valgus_fppa"], expect=False)
    assert (o["tp"], o["fp"], o["hits"], o["misses"]) == (0, 1, 0, 0)
    o = acc.flag_outcome((("knee_valgus", 5.0),), [], expect=False)
    assert (o["tp"], o["fp"], o["hits"], o["misses"]) == (0, 0, 0, 0)


def test_truth_peaks_read_the_injected_quantity(acc):
    from formcheck.synth.clip import simulate_truth

    spec = acc.ClipSpec("single_leg_squat", "front", (("pelvic_drop", 8.0),), "A", "left", 1, 320, 180)
    arrays, _ = simulate_truth(spec.synth_config())
    pk = acc.truth_peaks(spec, arrays)["pelvic_drop"]
    assert pk["key"] == "pelvic_drop" and pk["cutoff"] == 5.0
    assert 6.5 < pk["peak"] < 9.0
