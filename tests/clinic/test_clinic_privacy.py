"""Clinic privacy: keep-no-video, retention, and deleting an athlete leaves no file behind.

One real analysis (a 4 s cut of the bundled rendered lunge, lite model) runs through the
service's job machinery as a clinic lunge test."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from clinic_support import API, athlete_with_screening, clinic_app, register
from service_support import SAMPLE, cut_clip

POLL_TIMEOUT_S = 300


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def wait_done(client: TestClient, test_id: str, auth: dict) -> dict:
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while time.monotonic() < deadline:
        body = client.get(f"{API}/tests/{test_id}", headers=auth).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"test {test_id} not analysed after {POLL_TIMEOUT_S} s: {body}")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return cut_clip(SAMPLE, tmp_path_factory.mktemp("clip") / "lunge.mp4", end_s=4.0)


@pytest.mark.slow
def test_no_video_kept_and_deleting_the_athlete_leaves_nothing(tmp_path, clip):
    with TestClient(clinic_app(tmp_path, keep_video=False)) as client:
        a, b = register(client, "a@clinic.test"), register(client, "b@clinic.test")
        athlete, screening = athlete_with_screening(client, a)
        # a second athlete of the same clinician must survive the deletion untouched
        other, other_screening = athlete_with_screening(client, a, name="RUN-002")
        kept = client.post(f"{API}/screenings/{other_screening}/tests", headers=a, json={"kind": "lunge"}).json()
        test = client.post(f"{API}/screenings/{screening}/tests", headers=a, json={"kind": "lunge"}).json()
        with clip.open("rb") as fh:
            up = client.post(f"{API}/tests/{test['id']}/clip", headers=a,
                             files={"file": ("lunge.mp4", fh, "video/mp4")})
        assert up.status_code == 202, up.text
        assert up.json()["status"] in ("queued", "running") and "id" not in (up.json()["job"] or {})
        done = wait_done(client, test["id"], a)
        assert done["status"] == "done", done
        assert done["file_name"] == "lunge.mp4" and "video" not in done["links"]

        media = tmp_path / "media"
        names = {p.name for p in files_under(media)}
        assert "analysis.json" in names and "landmarks.npz" in names and "angles.csv" in names
        assert not any(n.startswith("input.") for n in names) and "annotated.mp4" not in names
        assert any(n.endswith(".jpg") for n in names), names          # key frames outlive the video
        gone = client.get(f"{API}/tests/{test['id']}/video", headers=a)
        assert gone.status_code == 410 and "no video" in gone.json()["message"]
        analysis = client.get(f"{API}/tests/{test['id']}/analysis", headers=a)
        assert analysis.status_code == 200 and analysis.json()["movement"]["exercise"].endswith("lunge")
        assert client.get(f"{API}/tests/{test['id']}/angles.csv", headers=a).text.startswith("time_s")
        result = client.get(f"{API}/screenings/{screening}/result", headers=a).json()
        assert result["tests"][0]["reps"] >= 1 and result["sebt"] is None
        # another clinician: 404 for the clip and everything derived from it
        for path in ("", "/video", "/analysis", "/angles.csv"):
            assert client.get(f"{API}/tests/{test['id']}{path}", headers=b).status_code == 404
        # the report, its exports and the shared copy; another clinician gets 404 for each
        html = client.get(f"{API}/screenings/{screening}/report", headers=a)
        assert html.status_code == 200 and "RUN-001" in html.text
        pdf = client.get(f"{API}/screenings/{screening}/report.pdf", headers=a)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        csv_text = client.get(f"{API}/screenings/{screening}/metrics.csv", headers=a).text
        assert len(csv_text.splitlines()) > 5
        mot = client.get(f"{API}/screenings/{screening}/angles.mot", headers=a)
        assert mot.status_code == 200 and "endheader" in mot.text and "knee_angle_r" in mot.text
        for path in ("report", "report.pdf", "metrics.csv", "angles.mot"):
            assert client.get(f"{API}/screenings/{screening}/{path}", headers=b).status_code == 404, path
        token = client.post(f"{API}/screenings/{screening}/share", json={"days": 1}, headers=a).json()["token"]
        shared = client.get(f"/share/{token}")
        assert shared.status_code == 200 and "RUN-001" in shared.text

        assert client.delete(f"{API}/athletes/{athlete}", headers=a).status_code == 204
        assert files_under(media) == []                                  # not one file left behind
        assert [p for p in media.iterdir()] == []
        with client.app.state.store.engine.begin() as conn:
            for table in ("jobs", "screenings", "share_links", "screening_tests"):
                rows = conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
                assert rows == (1 if table in ("screenings", "screening_tests") else 0), table
        assert client.get(f"{API}/athletes/{athlete}", headers=a).status_code == 404
        assert client.get(f"{API}/tests/{test['id']}", headers=a).status_code == 404
        assert client.get(f"{API}/athletes/{other}", headers=a).status_code == 200
        assert client.get(f"{API}/tests/{kept['id']}", headers=a).status_code == 200


def test_retention_purges_old_screenings(tmp_path):
    app = clinic_app(tmp_path, retention_days=30)
    with TestClient(app) as client:
        a = register(client, "a@clinic.test")
        athlete, old = athlete_with_screening(client, a)
        new = client.post(f"{API}/athletes/{athlete}/screenings", json={"date": "2025-06-01"}, headers=a).json()["id"]
        with app.state.store.engine.begin() as conn:
            stamp = (datetime.now(UTC) - timedelta(days=31)).isoformat()
            conn.execute(text("UPDATE screenings SET created_at = :stamp WHERE id = :id"), {"stamp": stamp, "id": old})
        counts = app.state.clinic.purge()
        assert counts["screenings"] == 1
        assert client.get(f"{API}/screenings/{old}", headers=a).status_code == 404
        assert client.get(f"{API}/screenings/{new}", headers=a).status_code == 200
