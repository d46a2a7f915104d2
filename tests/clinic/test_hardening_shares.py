"""Share links show only what was shared (issues 17 and 18): the shared screening (and, when
chosen, the earlier ones, never later ones), notes only when chosen, never cached, never in the
access log; a friendly page for a bad, expired or withdrawn link; the athlete's page in words."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy

from browser_support import run_server
from clinic_support import API, PASSWORD, register

INJURY, SCREENING_NOTE = "ACL reconstruction left 2023", "Felt knee pain on the step-down"
TEST_NOTE = "Wobbled on trial 2"
DATES = ("2025-01-10", "2025-03-10", "2025-06-10")
REACH = {"2025-01-10": 60.0, "2025-03-10": 66.0, "2025-06-10": 77.0}  # tape, anterior, both legs


def _screenings(client, auth) -> tuple[str, dict[str, str]]:
    """An athlete with three tape-measured screenings; returns the athlete id and {date: screening id}."""
    athlete = client.post(f"{API}/athletes", headers=auth, json={
        "name": "Sam Runner", "leg_length_left_cm": 90.0, "leg_length_right_cm": 90.0, "injury_notes": INJURY}).json()
    ids = {}
    for date in DATES:
        s = client.post(f"{API}/athletes/{athlete['id']}/screenings", headers=auth,
                        json={"date": date, "notes": SCREENING_NOTE}).json()
        for leg in ("left", "right"):
            t = client.post(f"{API}/screenings/{s['id']}/tests", headers=auth,
                            json={"kind": "msebt", "leg": leg, "direction": "anterior"}).json()
            r = client.put(f"{API}/tests/{t['id']}/manual-trials", headers=auth,
                           json=[{"trial": 1, "reach_cm": REACH[date]}])
            assert r.status_code == 200, r.text
            r = client.put(f"{API}/tests/{t['id']}/notes", headers=auth, json={"notes": TEST_NOTE})
            assert r.status_code == 200, r.text
        ids[date] = s["id"]
    return athlete["id"], ids


def _share(client, auth, screening, **choices) -> str:
    r = client.post(f"{API}/screenings/{screening}/share", headers=auth, json={"days": 7, **choices})
    assert r.status_code == 201, r.text
    assert all(r.json()[k] == v for k, v in choices.items())
    return r.json()["token"]


def test_share_shows_history_only_up_to_the_shared_screening_and_only_when_chosen(client):
    auth = register(client, "a@clinic.test")
    _, ids = _screenings(client, auth)
    clinic = client.app.state.clinic
    with_history = _share(client, auth, ids["2025-03-10"], include_history=True)
    report = clinic.shared_report(with_history, "PDF")
    dates = {p.date.isoformat() for h in report.history for p in h.points}
    assert dates == {"2025-01-10", "2025-03-10"}          # never the later screening of June
    page = client.get(f"/share/{with_history}").text
    assert "Your trend" in page and "10 Jan 2025" in page and "Jun 2025" not in page
    pdf = client.get(f"/share/{with_history}/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"

    plain = _share(client, auth, ids["2025-03-10"])
    assert clinic.shared_report(plain, "PDF").history == []
    assert "Your trend" not in client.get(f"/share/{plain}").text


def test_notes_are_shared_only_when_chosen(client):
    auth = register(client, "a@clinic.test")
    _, ids = _screenings(client, auth)
    default = _share(client, auth, ids["2025-06-10"])
    for text in (json.dumps(client.get(f"{API}/shared/{default}").json()), client.get(f"/share/{default}").text):
        assert INJURY not in text and SCREENING_NOTE not in text and TEST_NOTE not in text
    report = client.app.state.clinic.shared_report(default, "PDF")
    assert report.athlete.injury_notes == "" and report.screening.notes == ""
    assert all(t.notes == "" for t in report.screening.tests)
    chosen = _share(client, auth, ids["2025-06-10"], include_notes=True)
    shared = client.get(f"{API}/shared/{chosen}").json()
    assert shared["athlete"]["injury_notes"] == INJURY and shared["screening"]["notes"] == SCREENING_NOTE
    assert shared["screening"]["tests"][0]["notes"] == TEST_NOTE
    assert INJURY in client.get(f"/share/{chosen}").text


def test_shared_answers_are_never_cached(client):
    auth = register(client, "a@clinic.test")
    _, ids = _screenings(client, auth)
    token = _share(client, auth, ids["2025-01-10"])
    for path in (f"{API}/shared/{token}", f"/share/{token}", f"/share/{token}/report.pdf"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", path


def test_bad_expired_and_withdrawn_links_get_a_friendly_page(client, tmp_path):
    auth = register(client, "a@clinic.test")
    _, ids = _screenings(client, auth)
    unknown = client.get(f"/share/{'x' * 43}")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert "This link does not work" in unknown.text and "mistyped" in unknown.text and '"code"' not in unknown.text
    link = client.post(f"{API}/screenings/{ids['2025-01-10']}/share", headers=auth, json={"days": 1}).json()
    assert client.delete(f"{API}/share-links/{link['id']}", headers=auth).status_code == 204
    withdrawn = client.get(f"/share/{link['token']}")
    assert withdrawn.status_code == 410 and "withdrawn" in withdrawn.text
    pdf = client.get(f"/share/{link['token']}/report.pdf")
    assert pdf.status_code == 410 and pdf.headers["content-type"].startswith("text/html")
    token = _share(client, auth, ids["2025-01-10"])
    with client.app.state.store.engine.begin() as conn:
        conn.execute(sqlalchemy.text("UPDATE share_links SET expires_at = :past"),
                     {"past": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()})
    expired = client.get(f"/share/{token}")
    assert expired.status_code == 410 and "expired" in expired.text and "Ask your clinician" in expired.text
    assert client.get(f"{API}/shared/{token}").json()["code"] == "gone"  # the JSON API stays JSON


def test_athlete_page_is_in_plain_words(client):
    auth = register(client, "a@clinic.test")
    _, ids = _screenings(client, auth)
    token = _share(client, auth, ids["2025-06-10"], include_history=True)
    page = client.get(f"/share/{token}").text
    assert "Your screening, 10 June 2025" in page
    assert "What we measured" in page and "What to work on" in page
    assert "Standing on your left leg" in page and "% of your leg length" in page
    assert "name='viewport'" in page and "report.pdf" in page
    for raw in ("reach_pct_limb", "composite_pct", "null", "None"):
        assert raw not in page


@pytest.mark.jobs
def test_share_tokens_do_not_reach_the_access_log(tmp_path):
    with run_server(tmp_path / "data", log_level="info") as server:
        def call(method, path, body=None, token=None):
            data = json.dumps(body).encode() if body else None
            request = urllib.request.Request(server.url + path, method=method, data=data,
                                             headers={"Content-Type": "application/json",
                                                      **({"Authorization": f"Bearer {token}"} if token else {})})
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")

        call("POST", f"{API}/auth/register", {"email": "a@clinic.test", "password": PASSWORD})
        bearer = call("POST", f"{API}/auth/login", {"email": "a@clinic.test", "password": PASSWORD})["token"]
        athlete = call("POST", f"{API}/athletes", {"name": "Log Test"}, bearer)
        screening = call("POST", f"{API}/athletes/{athlete['id']}/screenings", {"date": "2025-01-10"}, bearer)
        token = call("POST", f"{API}/screenings/{screening['id']}/share", {"days": 1}, bearer)["token"]
        call("GET", f"{API}/shared/{token}")
        urllib.request.urlopen(f"{server.url}/share/{token}", timeout=30).read()
        log = server.log_path.read_text()
    assert "/share/[token]" in log and "/shared/[token]" in log   # the requests were logged ...
    assert token not in log                                          # ... without the token


def test_opening_a_share_link_is_in_the_audit_log(client):
    auth = register(client, "a@clinic.test")
    athlete, ids = _screenings(client, auth)
    token = _share(client, auth, ids["2025-01-10"])
    client.get(f"/share/{token}")
    entries = client.get(f"{API}/athletes/{athlete}/audit", headers=auth).json()
    assert entries[0]["action"] == "viewed" and entries[0]["actor"].startswith("share link")
    assert any(e["action"] == "shared" and e["actor"] == "login" for e in entries)
