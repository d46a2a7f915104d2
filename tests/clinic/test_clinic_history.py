"""History across screenings: each metric's trend, flagged when a change exceeds its minimal
detectable change (MDC, thresholds.toml with its source); the data endpoint and the PNG."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pytest
from fastapi.testclient import TestClient

from clinic_support import API, athlete_with_screening, clinic_app, register
from formcheck.clinic.history import build_history, history_png


def by_key(histories):
    return {(h["metric"] if isinstance(h, dict) else h.metric): h for h in histories}


def test_change_beyond_mdc_is_flagged_and_smaller_is_not():
    # composite left 95.0 → 86.0 (−9.0, beyond the 8.15 % MDC of Munro & Herrington 2010);
    # right 92.0 → 95.0 (+3.0, within it); lunge knee FPPA 10 → 20 deg (+10, beyond 8.93 deg).
    rows = [
        ("s2", date(2025, 9, 1), {"sebt_composite_left": 86.0, "sebt_composite_right": 95.0,
                                  "lunge_peak_knee_fppa_deg_left": 20.0}),
        ("s1", date(2025, 3, 1), {"sebt_composite_left": 95.0, "sebt_composite_right": 92.0,
                                  "lunge_peak_knee_fppa_deg_left": 10.0, "sebt_anterior_diff_cm": 2.0}),
    ]
    h = by_key(build_history("a", rows))
    left = h["sebt_composite_left"]
    assert [p.screening_id for p in left.points] == ["s1", "s2"]          # oldest first
    assert left.points[1].change == pytest.approx(-9.0) and left.points[1].beyond_mdc
    assert left.mdc == 8.15 and "Munro" in left.mdc_source
    assert len(left.flags) == 1 and "95 → 86" in left.flags[0] and "8.15" in left.flags[0]
    right = h["sebt_composite_right"]
    assert right.points[1].change == pytest.approx(3.0) and not right.points[1].beyond_mdc and right.flags == []
    fppa = h["lunge_peak_knee_fppa_deg_left"]
    assert fppa.mdc == 8.93 and fppa.points[1].beyond_mdc
    # no published MDC: the trend is shown, never flagged
    diff = h["sebt_anterior_diff_cm"]
    assert diff.mdc is None and diff.points[1].value is None and diff.flags == []
    assert "sebt_composite_right" in h and "step_up_peak_knee_fppa_deg_left" not in h


def test_change_is_measured_from_the_last_screening_with_a_value():
    rows = [("s1", date(2025, 1, 1), {"sebt_anterior_left": 70.0}), ("s2", date(2025, 2, 1), {}),
            ("s3", date(2025, 3, 1), {"sebt_anterior_left": 60.0})]
    pts = by_key(build_history("a", rows))["sebt_anterior_left"].points
    assert pts[1].value is None and pts[2].change == pytest.approx(-10.0) and pts[2].beyond_mdc


def composite_tests(client, auth, screening, left, right):
    """Tape reaches giving composite `left` / `right` % for legs of 100 cm (A = PM = PL)."""
    for leg, pct in (("left", left), ("right", right)):
        for direction in ("anterior", "posteromedial", "posterolateral"):
            t = client.post(f"{API}/screenings/{screening}/tests", headers=auth,
                            json={"kind": "msebt", "leg": leg, "direction": direction}).json()
            client.put(f"{API}/tests/{t['id']}/manual-trials", json=[{"trial": 1, "reach_cm": pct}], headers=auth)


def test_history_endpoint_and_plot(tmp_path):
    with TestClient(clinic_app(tmp_path)) as client:
        a = register(client, "a@clinic.test")
        athlete, first = athlete_with_screening(client, a, leg_length_left_cm=100, leg_length_right_cm=100)
        composite_tests(client, a, first, 95, 90)
        second = client.post(f"{API}/athletes/{athlete}/screenings", json={"date": "2025-09-01"},
                             headers=a).json()["id"]
        composite_tests(client, a, second, 85, 92)
        h = by_key(client.get(f"{API}/athletes/{athlete}/history", headers=a).json()["metrics"])
        left, right = h["sebt_composite_left"], h["sebt_composite_right"]
        assert [p["value"] for p in left["points"]] == [95.0, 85.0] and left["points"][1]["beyond_mdc"]
        assert [p["value"] for p in right["points"]] == [90.0, 92.0] and not right["points"][1]["beyond_mdc"]
        assert len(left["flags"]) == 1

        png = client.get(f"{API}/athletes/{athlete}/history.png", headers=a, params={"metric": "sebt_composite_left"})
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_draws_the_series():
    import matplotlib.image as mpimg

    rows = [("s1", date(2025, 3, 1), {"sebt_composite_left": 95.0}),
            ("s2", date(2025, 9, 1), {"sebt_composite_left": 85.0})]
    image = mpimg.imread(io.BytesIO(history_png(build_history("a", rows))), format="png")
    rgb = image[..., :3]
    red = (rgb[..., 0] > 0.7) & (rgb[..., 1] < 0.3) & (rgb[..., 2] < 0.3)     # the beyond-MDC marker
    blue = (rgb[..., 2] > 0.6) & (rgb[..., 0] < 0.3)                           # the trend line
    assert red.sum() > 20 and blue.sum() > 20
    assert np.std(rgb) > 0.05
