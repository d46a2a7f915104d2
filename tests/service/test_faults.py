"""Faults (issue #6, item 6): a worker killed mid-job, a full disk, a locked database, a server
killed with -9 and started again. Every job ends done or failed with a reason, the other jobs
are unaffected, and nothing half-written is ever served.

The jobs run the scripted analysis of scripted_analysis.py (the pipeline without the pose model); a
HOLD file keeps them in their pose stage while a test breaks something around them.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from scripted_analysis import hold_file, scripted_analysis
from service_support import (
    API,
    FAST_SWEEP,
    SAMPLE,
    cut_clip,
    media_entries,
    poll,
    scripted_server,
    service_settings,
    wait_for_stage,
)

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from formcheck.service.app import create_app
from formcheck.service.store import JobStore
from formcheck.service.worker import run_job

pytestmark = pytest.mark.jobs  # analysis processes and server processes

TIMEOUT_S = 240


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return cut_clip(SAMPLE, tmp_path_factory.mktemp("clip") / "lunge.mp4", end_s=4.0, width=480)


def upload(client, path: Path, name: str = "clip.mp4") -> str:
    with open(path, "rb") as fh:
        response = client.post(API, files={"file": (name, fh, "video/mp4")})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def wait_for(predicate, timeout: float = TIMEOUT_S, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def leftovers(job_dir: Path) -> list[str]:
    return sorted(p.name for p in job_dir.glob("results.partial*")) + sorted(p.name for p in job_dir.glob("*.part"))


def test_killed_worker_fails_only_its_job(tmp_path, clip):
    """SIGKILL the process running job A: A fails with the reason, B (queued behind it) completes
    on a fresh process. With a ProcessPoolExecutor the broken pool would have failed B as well."""
    settings = service_settings(tmp_path, workers=1)
    hold = hold_file(tmp_path)
    hold.touch()
    with TestClient(create_app(settings, analyze=scripted_analysis)) as client:
        a = upload(client, clip, "a.mp4")
        b = upload(client, clip, "b.mp4")
        manager = client.app.state.manager
        wait_for_stage(client, a, "pose")
        pid = manager.running_pids()[a]
        os.kill(pid, signal.SIGKILL)
        hold.unlink()

        failed = poll(client, a)
        assert failed["status"] == "failed"
        assert failed["error"]["code"] == "worker_crashed"
        assert "SIGKILL" in failed["error"]["message"] and failed["error"]["hint"]
        assert client.get(f"{API}/{a}/video").status_code == 409
        assert leftovers(settings.media_dir / a) == []

        done = poll(client, b)
        assert done["status"] == "done", done["error"]
        assert done["analysis"]["movement"]["rep_count"] >= 1
        assert manager.running_pids().get(b) is None
        assert pid not in [slot.process.pid for slot in manager._slots if slot.process is not None]


def test_disk_full_while_writing_results_fails_cleanly(tmp_path, clip, monkeypatch):
    """run_job in this process with the disk filling up midway through the results: landmarks.npz
    and angles.csv are written, angles.mot is cut off by ENOSPC."""
    import formcheck.pipeline

    settings = service_settings(tmp_path)
    store = JobStore(settings.db_url)
    store.init()
    job_id = "a" * 32
    folder = settings.media_dir / job_id
    folder.mkdir(parents=True)
    (folder / "input.mp4").write_bytes(clip.read_bytes())
    store.create(job_id, exercise="auto", model="lite", input_name="input.mp4", file_name="clip.mp4")
    written_before: list[str] = []

    def write_mot_until_full(angles, path, *args, **kwargs):
        path.write_text("formcheck joint angles\n")  # the first bytes fit, then the disk is full
        written_before.extend(sorted(p.name for p in path.parent.iterdir()))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(formcheck.pipeline, "write_mot", write_mot_until_full)

    status = run_job(job_id, settings.db_url, str(folder), "input.mp4",
                     settings.pipeline_settings("lite").model_dump(mode="json"), "auto", 0.2, analyze=scripted_analysis)

    assert status == "failed"
    assert written_before == ["angles.csv", "angles.mot", "landmarks.npz"]  # it failed half-way through the results
    job = store.get(job_id)
    assert job.status == "failed" and job.error_code == "disk_full"
    assert "disk" in job.error_message and job.error_hint
    assert sorted(p.name for p in folder.iterdir()) == ["input.mp4"]  # nothing half-written kept


def test_disk_full_during_upload_is_507_and_leaves_nothing(tmp_path, clip, monkeypatch):
    import formcheck.service.upload as upload_module

    class FullFile:
        def __init__(self, path, mode):
            self._fh = open(path, mode)

        def write(self, data):
            if self._fh.tell() + len(data) > 20_000:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self._fh.write(data)

        def flush(self):
            self._fh.flush()

        def close(self):
            self._fh.close()

    monkeypatch.setattr(upload_module, "open", FullFile, raising=False)
    settings = service_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        with open(clip, "rb") as fh:
            response = client.post(API, files={"file": ("clip.mp4", fh, "video/mp4")})
        assert response.status_code == 507
        body = response.json()
        assert body["code"] == "storage_full" and body["hint"]
        assert media_entries(settings) == set()
        assert client.get("/healthz").status_code == 200


@contextmanager
def write_lock(db_path: Path):
    """Another connection holding the database's write lock (as a backup or a stuck shell would)."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE jobs SET updated_at = updated_at WHERE 0")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")
        conn.close()


def test_locked_database_is_waited_for_not_500_and_the_job_is_not_lost(tmp_path, clip):
    settings = service_settings(tmp_path, db_timeout_s=1.0, database_url=None)  # SQLite's write lock, in either mode
    hold = hold_file(tmp_path)
    hold.touch()
    with TestClient(create_app(settings, analyze=scripted_analysis)) as client:
        job_id = upload(client, clip)
        wait_for_stage(client, job_id, "pose")
        folder = settings.media_dir / job_id
        with write_lock(settings.db_path):
            # Reads go on (WAL); a write the API cannot make in time is a 503 with Retry-After.
            assert client.get(f"{API}/{job_id}").json()["status"] == "running"
            with open(clip, "rb") as fh:
                refused = client.post(API, files={"file": ("b.mp4", fh, "video/mp4")})
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "database_busy" and int(refused.headers["retry-after"]) > 0
            assert media_entries(settings) == {job_id}
            assert client.get("/healthz").status_code == 200
            hold.unlink()
            # The worker finishes its results and then waits for the lock to mark the job done:
            # meanwhile it is still running and nothing is served.
            wait_for(lambda: (folder / "results" / "analysis.json").is_file(), what="results renamed")
            time.sleep(1.0)
            assert client.get(f"{API}/{job_id}").json()["status"] == "running"
            assert client.get(f"{API}/{job_id}/video").status_code == 409
        body = poll(client, job_id)
        assert body["status"] == "done", body["error"]
        assert body["analysis"]["movement"]["rep_count"] >= 1


# -- the server killed with -9 and started again ------------------------------------------------

@contextmanager
def serve(data_dir: Path):
    """With Postgres, the killed server's job goes back to the queue once the stalled sweep sees it."""
    with scripted_server(data_dir, env=FAST_SWEEP) as server:
        yield server.url, server.process


def _get(url: str, process: subprocess.Popen | None = None) -> dict | None:
    if process is not None and process.poll() is not None:
        raise AssertionError(f"server exited with {process.returncode}")
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except OSError:
        return None


def _status(url: str, path: str) -> int:
    try:
        with urllib.request.urlopen(url + path, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _upload(url: str, path: Path) -> str:
    import httpx2

    with open(path, "rb") as fh:
        response = httpx2.post(url + API, files={"file": (path.name, fh, "video/mp4")}, timeout=60)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def test_server_killed_and_restarted_ends_every_job(tmp_path, clip):
    import psutil

    data = tmp_path / "data"
    data.mkdir()
    hold = hold_file(data)
    hold.touch()  # the first job is still in its pose stage when the server is killed
    with serve(data) as (url, process):
        first = _upload(url, clip)
        second = _upload(url, clip)
        def under_way() -> bool:
            body = _get(f"{url}{API}/{first}") or {}
            assert body.get("status") not in ("done", "failed"), body  # too early to kill it
            return body.get("progress", 0) > 0.1

        wait_for(under_way, what="first job under way")
        workers = _children(process.pid)
        assert workers
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        # The analysis processes die with the server: no orphan keeps writing into the job.
        wait_for(lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                                 for p in workers), 15, "workers gone")
    assert (data / "media" / first / "input.mp4").exists() or any((data / "media" / first).glob("input*"))
    hold.unlink()

    with serve(data) as (url, process):
        seen_statuses = set()

        def finished(job_id: str) -> dict | None:
            body = _get(f"{url}{API}/{job_id}")
            seen_statuses.add(body["status"])
            if body["status"] not in ("done", "failed"):
                # never served half-written: a video only once the job is done (it may finish
                # between the two requests, so a 200 is checked against a fresh status)
                served = _status(url, f"{API}/{job_id}/video")
                assert served == 409 or (served == 200 and _get(f"{url}{API}/{job_id}")["status"] == "done"), served
                return None
            return body

        for job_id in (first, second):
            body = wait_for(lambda job_id=job_id: finished(job_id), what=f"job {job_id} finished")
            if body["status"] == "failed":
                assert body["error"]["code"] and body["error"]["message"] and body["error"]["hint"]
            else:
                assert body["analysis"]["movement"]["rep_count"] >= 1
                assert _status(url, f"{API}/{job_id}/video") == 200
            assert leftovers(data / "media" / job_id) == []
        store = JobStore(service_settings(data).db_url)
        assert store.get(first).status == "done" and store.get(first).attempts == 2  # re-run after the crash
        assert store.get(second).status == "done"
