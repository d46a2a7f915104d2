"""The clinic's data, hardened (issue 18): clinic clips out of reach of the anonymous analyses
API, anonymous uploads that expire, plausible dates, names without control or direction
characters, a bounded number of tape trials, and an audit log of who saw what."""

from __future__ import annotations

import datetime as dt
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from clinic_support import API, PASSWORD, athlete_with_screening, clinic_app, register
from formcheck.service.store import new_job_id


def _job(app, *, days_old: float = 0.0, status: str = "failed") -> str:
    """A finished (failed: no results to read) analysis job; no clip is needed to test who may reach it."""
    job_id = new_job_id()
    store = app.state.store
    store.create(job_id, exercise="lunge", model="lite", input_name="input.mp4", file_name="clip.mp4")
    app.state.manager.job_dir(job_id).mkdir(parents=True, exist_ok=True)
    stamp = (datetime.now(dt.UTC) - timedelta(days=days_old)).isoformat()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET status = :status, created_at = :stamp WHERE id = :id"),
                     {"status": status, "stamp": stamp, "id": job_id})
    return job_id


def _clinic_job(app, client, auth, **job) -> str:
    _, screening = athlete_with_screening(client, auth)
    test = client.post(f"{API}/screenings/{screening}/tests", headers=auth, json={"kind": "lunge"}).json()
    job_id = _job(app, **job)
    clinician = client.get(f"{API}/auth/me", headers=auth).json()["id"]
    app.state.clinic.store.attach_job(clinician, test["id"], job_id, "clip.mp4")
    return job_id


def test_a_clinic_clip_is_not_reachable_through_the_anonymous_api(app, client):
    auth = register(client, "a@clinic.test")
    clinic_job, anonymous = _clinic_job(app, client, auth), _job(app)
    assert client.get(f"/api/v1/analyses/{anonymous}").status_code == 200
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/video"), ("GET", "/angles.csv"), ("GET", "/report")):
        r = client.request(method, f"/api/v1/analyses/{clinic_job}{path}")
        assert r.status_code == 404 and r.json()["code"] == "not_found", (method, path)
    assert app.state.store.get(clinic_job) is not None  # the DELETE did nothing


def test_anonymous_uploads_expire_after_the_retention_period(app, client):
    auth = register(client, "a@clinic.test")
    old, recent = _job(app, days_old=8), _job(app, days_old=1)
    old_clinic = _clinic_job(app, client, auth, days_old=30)
    counts = app.state.clinic.purge()
    assert counts["anonymous_analyses"] == 1
    assert app.state.store.get(old) is None and not app.state.manager.job_dir(old).exists()
    assert app.state.store.get(recent) is not None
    assert app.state.store.get(old_clinic) is not None  # clinic screenings have their own retention


def test_anonymous_retention_is_a_setting(tmp_path):
    with TestClient(clinic_app(tmp_path, anonymous_retention_days=None)) as client:
        old = _job(client.app, days_old=400)
        assert client.app.state.clinic.purge()["anonymous_analyses"] == 0
        assert client.app.state.store.get(old) is not None


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31", "1999-12-31",
                                  (dt.date.today() + dt.timedelta(days=2)).isoformat()])
def test_implausible_screening_dates_are_refused(client, date):
    auth = register(client, "a@clinic.test")
    athlete, _ = athlete_with_screening(client, auth)
    r = client.post(f"{API}/athletes/{athlete}/screenings", headers=auth, json={"date": date})
    assert r.status_code == 422 and "date" in r.json()["message"]


def test_todays_screening_is_accepted(client):
    auth = register(client, "a@clinic.test")
    athlete, _ = athlete_with_screening(client, auth)
    today = dt.date.today().isoformat()
    assert client.post(f"{API}/athletes/{athlete}/screenings", headers=auth, json={"date": today}).status_code == 201


@pytest.mark.parametrize("years_ago", [0, 1, 111])
def test_implausible_birth_years_are_refused(client, years_ago):
    auth = register(client, "a@clinic.test")
    year = dt.date.today().year - years_ago
    r = client.post(f"{API}/athletes", headers=auth, json={"name": "Kid", "birth_year": year})
    assert r.status_code == 422 and "birth year" in r.json()["message"]


@pytest.mark.parametrize("name", ["Sam\x00Runner", "Sam\u202eRunner", "Sam\x1b[31mRunner", "Sam\nRunner", "Sam\u2066R"])
def test_names_with_control_or_direction_characters_are_refused(client, name):
    auth = register(client, "a@clinic.test")
    assert client.post(f"{API}/athletes", headers=auth, json={"name": name}).status_code == 422
    athlete, _ = athlete_with_screening(client, auth)
    assert client.patch(f"{API}/athletes/{athlete}", headers=auth, json={"name": name}).status_code == 422
    assert client.post(f"{API}/api-keys", headers=auth, json={"label": name}).status_code == 422
    r = client.post(f"{API}/auth/register", json={"email": "b@clinic.test", "password": PASSWORD, "name": name})
    assert r.status_code == 422


def test_notes_keep_line_breaks_but_not_control_characters(client):
    auth = register(client, "a@clinic.test")
    ok = client.post(f"{API}/athletes", headers=auth, json={"name": "Sam", "injury_notes": "Line one\nLine two\ttab"})
    assert ok.status_code == 201
    nul = client.post(f"{API}/athletes", headers=auth, json={"name": "Sam", "injury_notes": "a\x00b"})
    assert nul.status_code == 422
    athlete, _ = athlete_with_screening(client, auth)
    r = client.post(f"{API}/athletes/{athlete}/screenings", headers=auth,
                    json={"date": "2025-01-01", "notes": "x\u202ey"})
    assert r.status_code == 422


def test_manual_trials_are_capped(client):
    auth = register(client, "a@clinic.test")
    _, screening = athlete_with_screening(client, auth)
    copies = [{"trial": 1, "reach_cm": 60.0}] * 1000
    body = {"kind": "msebt", "leg": "left", "direction": "anterior"}
    assert client.post(f"{API}/screenings/{screening}/tests", headers=auth,
                       json={**body, "manual_trials": copies}).status_code == 422
    test = client.post(f"{API}/screenings/{screening}/tests", headers=auth, json=body).json()
    assert client.put(f"{API}/tests/{test['id']}/manual-trials", headers=auth, json=copies).status_code == 422
    twice = [{"trial": 1, "reach_cm": 60.0}, {"trial": 1, "reach_cm": 61.0}]
    assert client.put(f"{API}/tests/{test['id']}/manual-trials", headers=auth, json=twice).status_code == 422
    three = [{"trial": n, "reach_cm": 60.0 + n} for n in (1, 2, 3)]
    r = client.put(f"{API}/tests/{test['id']}/manual-trials", headers=auth, json=three)
    assert r.status_code == 200 and len(r.json()["manual_trials"]) == 3


def test_audit_log_of_views_exports_shares_and_deletes(client):
    auth = register(client, "a@clinic.test")
    athlete, screening = athlete_with_screening(client, auth)
    client.get(f"{API}/athletes/{athlete}", headers=auth)
    client.get(f"{API}/screenings/{screening}/metrics.csv", headers=auth)
    client.post(f"{API}/screenings/{screening}/share", headers=auth, json={"days": 3, "include_history": True})
    key = client.post(f"{API}/api-keys", headers=auth, json={"scope": "admin"}).json()["key"]
    assert client.delete(f"{API}/screenings/{screening}", headers={"X-API-Key": key}).status_code == 204
    entries = client.get(f"{API}/athletes/{athlete}/audit", headers=auth).json()
    assert [e["action"] for e in entries] == ["deleted", "shared", "exported", "viewed"]  # newest first
    assert entries[0]["actor"] == f"API key {key[:10]}…" and entries[-1]["actor"] == "login"
    assert "metrics.csv" in entries[2]["what"] and "earlier screenings" in entries[1]["what"]
    other = register(client, "b@clinic.test")
    assert client.get(f"{API}/athletes/{athlete}/audit", headers=other).json() == []
    # deleting the athlete keeps the log of what happened to their data
    assert client.delete(f"{API}/athletes/{athlete}", headers=auth).status_code == 204
    kept = client.get(f"{API}/audit", headers=auth).json()
    assert kept[0]["action"] == "deleted" and kept[0]["athlete_id"] == athlete and len(kept) == 5
