"""Helpers shared by the clinic tests: an app with a temporary data dir and logged-in clinicians."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from formcheck.clinic.settings import ClinicSettings
from formcheck.service.app import create_app
from formcheck.service.settings import ServiceSettings

API = "/api/v1/clinic"
PASSWORD = "correct horse battery"


def clinic_app(data_dir: Path, **clinic):
    settings = ServiceSettings(data_dir=data_dir, workers=1, model="lite", progress_interval_s=0.2)
    return create_app(settings, ClinicSettings(**clinic))


def register(client: TestClient, email: str, name: str = "") -> dict[str, str]:
    """Register, log in and return the Authorization header of the new clinician (register answers
    202 whether or not the e-mail is new, so it does not log in)."""
    r = client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD, "name": name or email})
    assert r.status_code == 202, r.text
    r = client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def athlete_with_screening(client: TestClient, auth: dict, **athlete) -> tuple[str, str]:
    body = {"name": "RUN-001", "leg_length_left_cm": 90.0, "leg_length_right_cm": 91.0, **athlete}
    a = client.post(f"{API}/athletes", json=body, headers=auth)
    assert a.status_code == 201, a.text
    s = client.post(f"{API}/athletes/{a.json()['id']}/screenings", json={"date": "2025-03-01"}, headers=auth)
    assert s.status_code == 201, s.text
    return a.json()["id"], s.json()["id"]
