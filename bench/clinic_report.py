#!/usr/bin/env python3
"""How long a clinician waits for a screening's report: the HTML view and the PDF (issue #17).

Builds, once, an athlete with two screenings through the clinic API (the app in process, real
analysis workers): an earlier one with tape-measured mSEBT reaches only, and one with tape
mSEBT reaches in all six directions, a lunge clip (the bundled synthetic lunge) and a step-up
clip (a shared real clip, when present). The data folder is kept (`--data`), so later runs
only time the report. Then each report route is requested `--repeat` times in a row: the
first request is the one a clinician waits for after the analyses finish, the later ones are
what opening the report again costs.

    PYTHONPATH=src python bench/clinic_report.py [--data DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

API = "/api/v1/clinic"
LUNGE = REPO / "samples" / "lunge_synthetic_side.mp4"
STEP_UP = Path("/work/shared/samples/videos/stepup_side_01.mp4")
TAPE_CM = {("left", "anterior"): [58, 60, 59], ("left", "posteromedial"): [92, 95, 94],
           ("left", "posterolateral"): [88, 90, 91], ("right", "anterior"): [54, 57, 55],
           ("right", "posteromedial"): [90, 93, 92], ("right", "posterolateral"): [86, 89, 87]}


def _ok(response, status: int = 200):
    if response.status_code != status:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json() if "json" in response.headers.get("content-type", "") else response


def _tape_screening(client, auth: dict, athlete_id: str, date: str, shift_cm: float) -> str:
    s = _ok(client.post(f"{API}/athletes/{athlete_id}/screenings", json={"date": date}, headers=auth), 201)
    for (leg, direction), values in TAPE_CM.items():
        trials = [{"trial": i, "reach_cm": v + shift_cm} for i, v in enumerate(values, 1)]
        _ok(client.post(f"{API}/screenings/{s['id']}/tests", headers=auth,
                        json={"kind": "msebt", "leg": leg, "direction": direction, "manual_trials": trials}), 201)
    return s["id"]


def _setup(client, state_path: Path) -> dict:
    if state_path.exists():
        return json.loads(state_path.read_text())
    account = {"email": "bench@example.org", "password": "bench password 1"}
    _ok(client.post(f"{API}/auth/register", json={**account, "name": "Bench Physio"}), 202)  # then log in
    r = _ok(client.post(f"{API}/auth/login", json=account))
    auth = {"Authorization": f"Bearer {r['token']}"}
    athlete = _ok(client.post(f"{API}/athletes", headers=auth, json={
        "name": "Bench Runner", "birth_year": 1994, "leg_length_left_cm": 90.0, "leg_length_right_cm": 91.0}), 201)
    _tape_screening(client, auth, athlete["id"], "2025-01-10", -4.0)
    screening = _tape_screening(client, auth, athlete["id"], "2025-03-01", 0.0)
    clips = [("lunge", LUNGE)] + ([("step_up", STEP_UP)] if STEP_UP.exists() else [])
    for kind, clip in clips:
        test = _ok(client.post(f"{API}/screenings/{screening}/tests", json={"kind": kind}, headers=auth), 201)
        with clip.open("rb") as f:
            _ok(client.post(f"{API}/tests/{test['id']}/clip", headers=auth,
                            files={"file": (clip.name, f, "video/mp4")}), 202)
    state = {"auth": auth, "screening": screening}
    state_path.write_text(json.dumps(state))
    return state


def _wait_done(client, auth: dict, screening: str, timeout_s: float = 900) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tests = _ok(client.get(f"{API}/screenings/{screening}", headers=auth))["tests"]
        if all(t["status"] in ("done", "failed", "no_clip") for t in tests):
            failed = [t for t in tests if t["status"] == "failed"]
            if failed:
                raise SystemExit(f"analysis failed: {failed}")
            return
        time.sleep(1.0)
    raise SystemExit("the analyses did not finish in time")


def main() -> None:
    from fastapi.testclient import TestClient

    from formcheck.clinic.settings import ClinicSettings
    from formcheck.service.app import create_app
    from formcheck.service.settings import ServiceSettings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path.home() / ".cache" / "formcheck-bench" / "clinic-report")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    settings = ServiceSettings(data_dir=args.data, workers=1, model="lite")
    with TestClient(create_app(settings, ClinicSettings())) as client:
        state = _setup(client, args.data / "bench-state.json")
        auth, screening = state["auth"], state["screening"]
        _wait_done(client, auth, screening)
        for label, path in (("report view (HTML)", "report"), ("report PDF", "report.pdf")):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                response = client.get(f"{API}/screenings/{screening}/{path}", headers=auth)
                times.append(time.perf_counter() - start)
                _ok(response)
            size = len(response.content) / 1024
            print(f"{label:20s} first {times[0]:.2f} s, then {', '.join(f'{t:.2f}' for t in times[1:])} s "
                  f"(median {statistics.median(times):.2f} s), {size:.0f} KiB")


if __name__ == "__main__":
    main()
