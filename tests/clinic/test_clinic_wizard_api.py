"""What the screening wizard stores through the clinic API (issue 17): the steps skipped for now
(kept with the screening), a note per test, tape reaches kept apart from the clip's, and notes
that name a test in words rather than by its id."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from clinic_support import API, athlete_with_screening, clinic_app, register
from formcheck.clinic.models import describe_test


@pytest.fixture()
def clinic(tmp_path):
    with TestClient(clinic_app(tmp_path)) as client:
        client.app.state.manager.shutdown()   # no clip is analysed here
        auth = register(client, "wizard@example.org")
        athlete, screening = athlete_with_screening(client, auth)
        yield client, auth, athlete, screening


def test_skipped_steps_are_kept_with_the_screening(clinic):
    client, auth, _, screening = clinic
    assert client.get(f"{API}/screenings/{screening}", headers=auth).json()["skipped_steps"] == []
    r = client.patch(f"{API}/screenings/{screening}", headers=auth,
                     json={"skipped_steps": ["step_up::", "msebt:right:posterolateral", "step_up::"]})
    assert r.status_code == 200, r.text
    assert r.json()["skipped_steps"] == ["msebt:right:posterolateral", "step_up::"]
    # another login (a new session) reads the same
    other = register(client, "wizard@example.org")
    assert client.get(f"{API}/screenings/{screening}", headers=other).json()["skipped_steps"] == [
        "msebt:right:posterolateral", "step_up::"]
    assert client.patch(f"{API}/screenings/{screening}", headers=auth, json={"skipped_steps": []}).json()[
        "skipped_steps"] == []


def test_an_unknown_step_is_refused_in_the_error_shape(clinic):
    client, auth, _, screening = clinic
    r = client.patch(f"{API}/screenings/{screening}", headers=auth, json={"skipped_steps": ["msebt:left:sideways"]})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] and body["message"] and "hint" in body
    stranger = register(client, "other@example.org")
    assert client.patch(f"{API}/screenings/{screening}", headers=stranger,
                        json={"skipped_steps": ["lunge::"]}).status_code == 404


def test_a_note_per_test(clinic):
    client, auth, _, screening = clinic
    test = client.post(f"{API}/screenings/{screening}/tests", headers=auth, json={"kind": "lunge"}).json()
    assert test["notes"] == ""
    r = client.put(f"{API}/tests/{test['id']}/notes", headers=auth, json={"notes": "Knee drifts in; cue hip."})
    assert r.status_code == 200 and r.json()["notes"] == "Knee drifts in; cue hip."
    listed = client.get(f"{API}/screenings/{screening}", headers=auth).json()["tests"]
    assert [t["notes"] for t in listed] == ["Knee drifts in; cue hip."]
    assert client.put(f"{API}/tests/{test['id']}/notes", headers=auth, json={"notes": "x" * 4001}).status_code == 422


def test_a_future_screening_date_is_refused(clinic):
    client, auth, athlete, _ = clinic
    future = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    r = client.post(f"{API}/athletes/{athlete}/screenings", headers=auth, json={"date": future})
    assert r.status_code == 422 and "today" in r.json()["message"] + r.json().get("hint", "")


def _analysis(view: str):
    reps = [SimpleNamespace(side="left", index=k, complete=True, metrics={"reach_pct_leg": 70.0 + k})
            for k in (1, 2, 3)]
    return SimpleNamespace(movement=SimpleNamespace(reps=reps, view=view, scale={"marker": None}, near_side=None,
                                                    unsupported_measures=[]))


def test_notes_name_the_test_in_words_and_tape_keeps_the_clips_trials_apart(clinic):
    client, auth, _, screening = clinic
    test = client.post(f"{API}/screenings/{screening}/tests", headers=auth,
                       json={"kind": "msebt", "leg": "left", "direction": "anterior"}).json()
    service = client.app.state.clinic
    cid = client.get(f"{API}/auth/me", headers=auth).json()["id"]
    _, notes = service.trials(service.store.test(cid, test["id"]), _analysis("frontal"), None)
    assert notes and all(n.startswith("mSEBT, left stance, anterior") for n in notes)
    assert not any(re.search(r"[0-9a-f]{32}", n) for n in notes)
    client.put(f"{API}/tests/{test['id']}/manual-trials", headers=auth, json=[{"trial": 1, "reach_cm": 61.0}])
    row = service.store.test(cid, test["id"])
    scored, _ = service.trials(row, _analysis("sagittal"), None)
    camera, _ = service.clip_trials(row, _analysis("sagittal"), None)
    assert [t.cm_source for t in scored] == ["tape"] and [t.reach_pct_limb for t in camera] == [71.0, 72.0, 73.0]
    assert describe_test("lunge", None, None) == "Lunge"
    assert describe_test("step_up", "right", None) == "Step-up, right leg"
