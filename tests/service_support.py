"""Helpers shared by the service tests: settings, uploads, polling, a server process.

The job-lifecycle and fault tests run the scripted analyses of scripted_analysis.py (the pipeline
without the pose model) in the app or in a real server process (`scripted_server`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
from fastapi.testclient import TestClient

from browser_support import RunningServer, free_port, run_server
from formcheck import clips
from formcheck.service import ServiceSettings
from formcheck.service.app import create_app
from scripted_analysis import POSE_MEMO_ENV, POSE_MEMO_REPLAY_ENV, memoised_model_analysis, scripted_analysis

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "lunge_synthetic_side.mp4"
API = "/api/v1/analyses"
POLL_TIMEOUT_S = 240
# Short heartbeats so a test sees a silent Procrastinate worker within seconds (production: 5 s and
# 30 s); the embedded queue does not use them.
FAST_SWEEP = {"FORMCHECK_WORKER_HEARTBEAT_S": "0.5", "FORMCHECK_WORKER_STALLED_AFTER_S": "3"}


def cut_clip(src: Path, dst: Path, end_s: float = 6.0, width: int = 640) -> Path:
    """First `end_s` seconds of `src`, downscaled (keeps the test run short on 2 cores)."""
    return clips.short_clip(src, dst, end_s, width, {"crf": "20", "preset": "veryfast"})


def service_settings(data_dir: Path, **overrides) -> ServiceSettings:
    values = {"data_dir": data_dir, "workers": 1, "model": "lite", "progress_interval_s": 0.2, **overrides}
    return ServiceSettings(**values)


def media_entries(settings: ServiceSettings) -> set[str]:
    return {p.name for p in settings.media_dir.iterdir()} if settings.media_dir.exists() else set()


def poll(client: TestClient, job_id: str, seen: list | None = None, timeout: float = POLL_TIMEOUT_S) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"{API}/{job_id}").json()
        if seen is not None:
            seen.append((body["status"], body["progress"]))
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"analysis {job_id} not finished after {timeout} s: {body}")


def wait_for_stage(client: TestClient, job_id: str, stage: str, timeout: float = POLL_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while client.get(f"{API}/{job_id}").json()["stage"] != stage:
        assert time.monotonic() < deadline, f"analysis {job_id} never reached the {stage} stage"
        time.sleep(0.1)


def scripted_app():
    """The app from the FORMCHECK_* environment, its jobs running `scripted_analysis`: for the tests
    of a real server process (`uvicorn service_support:scripted_app --factory`, tests/ on PYTHONPATH)."""
    return create_app(ServiceSettings(), analyze=scripted_analysis)


def memo_app():
    """The app from the FORMCHECK_* environment, its jobs running `memoised_model_analysis` (the model,
    its landmarks remembered per clip in FORMCHECK_TEST_POSE_MEMO): for the browser tests' servers."""
    return create_app(ServiceSettings(), analyze=memoised_model_analysis)


@contextmanager
def app_server(data_dir: Path, app: str, env: dict[str, str] | None = None, **options) -> Iterator[RunningServer]:
    """A real server process (uvicorn, as `formcheck serve` runs it) of an app factory in tests/."""
    tests = str(Path(__file__).resolve().parent)
    path = os.pathsep.join(p for p in (tests, os.environ.get("PYTHONPATH")) if p)
    with run_server(data_dir, app=app, env={"PYTHONPATH": path, **(env or {})}, **options) as server:
        yield server


def scripted_server(data_dir: Path, env: dict[str, str] | None = None):
    """A real server process whose jobs run `scripted_analysis`."""
    return app_server(data_dir, "service_support:scripted_app", env)


def memo_server(data_dir: Path, memo: Path, replay: bool = True, **options):
    """A real server process (one lite analysis process) whose jobs run the pose model with its landmarks
    remembered in `memo` (`memoised_model_analysis`); `replay=False`: the model runs every time."""
    env = {POSE_MEMO_ENV: str(memo), POSE_MEMO_REPLAY_ENV: "1" if replay else "0"}
    return app_server(data_dir, "service_support:memo_app", env, **{"workers": 1, "model": "lite", **options})


def run_scripted_worker() -> int:
    """`formcheck worker` whose analyses run `scripted_analysis` (settings from FORMCHECK_*): for the
    scale-out tests (`python -c "import service_support; service_support.run_scripted_worker()"`)."""
    from formcheck.service.cli import run_worker

    return run_worker(ServiceSettings(), analyze=scripted_analysis)


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


@contextmanager
def serve(data_dir: Path, env: dict[str, str], log: bool = True) -> Iterator[Server]:
    """`formcheck serve` on a free loopback port (one lite worker); its output in data_dir/server.log if `log`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with open(data_dir / "server.log" if log else os.devnull, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "formcheck.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
             "--workers", "1", "--model", "lite"], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (data_dir / "server.log").read_text() if log else "the server exited"
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield Server(port, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
