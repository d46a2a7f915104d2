"""The HTTP service (issue #5): upload -> background analysis -> results; errors; restart recovery.

The jobs run the scripted analyses of scripted_analysis.py (the pipeline without the pose model), so
the module needs no model; `test_results_equal_the_pipeline` is the one end-to-end test that runs
the model (lite, on a 6 s cut of samples/lunge_synthetic_side.mp4) in the service and compares
its result with the pipeline's own for the same clip.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path

import pytest

from media_factory import write_video

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from formcheck.config import Settings
from formcheck.pipeline import analyze_video
from formcheck.service import ServiceSettings
from formcheck.service.app import create_app
from formcheck.service.store import JobStore
from scripted_analysis import analysis_finding_nobody, hold_file, scripted_analysis
from service_support import (
    API,
    POLL_TIMEOUT_S,
    SAMPLE,
    cut_clip,
    media_entries,
    poll,
    service_settings,
    wait_for_stage,
)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    return cut_clip(SAMPLE, tmp_path_factory.mktemp("clip") / "short lunge.mp4")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The app with the scripted analysis (service_support): jobs run the pipeline without the pose model."""
    settings = service_settings(tmp_path_factory.mktemp("service"))
    with TestClient(create_app(settings, analyze=scripted_analysis)) as client:
        yield client, settings


def upload(client: TestClient, clip: Path, name: str) -> tuple:
    with open(clip, "rb") as fh:
        response = client.post(API, files={"file": (name, fh, "video/mp4")}, data={"exercise": "auto"})
    assert response.status_code == 202, response.text
    return response, response.json()["id"]


@pytest.fixture(scope="module")
def done_job(service, short_clip):
    """Upload the clip and wait for the service's result, noting the status and progress on every poll."""
    client, _ = service
    response, job_id = upload(client, short_clip, "my clip.mp4")
    seen: list = []
    body = poll(client, job_id, seen)
    return {"id": job_id, "created": response, "body": body, "seen": seen}


@pytest.mark.jobs
def test_upload_returns_202_with_location(done_job):
    created = done_job["created"]
    assert created.status_code == 202
    assert created.headers["location"].endswith(f"{API}/{done_job['id']}")
    assert created.json()["status"] == "queued"
    assert len(done_job["id"]) == 32


@pytest.mark.jobs
def test_job_runs_to_done_with_progress(done_job):
    body = done_job["body"]
    assert body["status"] == "done", body.get("error")
    assert body["progress"] == 1.0 and body["error"] is None
    assert body["file_name"] == "my clip.mp4"
    progress = [p for status, p in done_job["seen"] if status == "running"]
    assert any(0 < p < 1 for p in progress), done_job["seen"]
    assert [p for _, p in done_job["seen"]] == sorted(p for _, p in done_job["seen"])  # never goes back


@pytest.mark.jobs
def test_results_contain_reps_and_angles(done_job):
    analysis = done_job["body"]["analysis"]
    assert analysis["movement"]["rep_count"] >= 1
    assert analysis["movement"]["reps"]
    names = {a["name"] for a in analysis["angles"]}
    assert {"left_knee_flexion_deg", "right_knee_flexion_deg"} <= names
    links = done_job["body"]["links"]
    assert links["video"].endswith("/video") and links["angles_csv"].endswith("/angles.csv") and links["plots"]


@pytest.mark.slow
def test_results_equal_the_pipeline(short_clip, tmp_path):
    """The one service test with the pose model: the service's analysis process (the real
    `analyze_video`) gives the result the pipeline gives for the same clip, run here meanwhile."""
    settings = service_settings(tmp_path / "service")
    reference = {}

    def run_reference() -> None:
        reference["result"] = analyze_video(short_clip, tmp_path / "reference", settings.pipeline_settings("lite"))

    with TestClient(create_app(settings)) as client:
        _, job_id = upload(client, short_clip, "my clip.mp4")
        thread = threading.Thread(target=run_reference)
        thread.start()
        body = poll(client, job_id)
        thread.join(timeout=POLL_TIMEOUT_S)
    assert body["status"] == "done", body["error"]
    served = body["analysis"]
    ref = reference["result"].analysis
    assert served["movement"]["exercise"] == ref.movement.exercise
    assert served["movement"]["rep_count"] == ref.movement.rep_count
    assert [r["side"] for r in served["movement"]["reps"]] == [r.side for r in ref.movement.reps]
    assert served["input"]["frames"] == ref.input.frames
    ref_angles = {a.name: a for a in ref.angles}
    for summary in served["angles"]:
        expected = ref_angles[summary["name"]]
        assert summary["valid_fraction"] == pytest.approx(expected.valid_fraction, abs=0.02)
        for key in ("min", "median", "max"):
            value, want = summary[key], getattr(expected, key)
            assert (value is None) == (want is None), summary
            if value is not None:
                assert value == pytest.approx(want, abs=1.0), (summary["name"], key)


@pytest.mark.jobs
def test_video_served_with_range(service, done_job):
    client, _ = service
    url = done_job["body"]["links"]["video"]
    full = client.get(url)
    assert full.status_code == 200
    assert full.headers["content-type"] == "video/mp4"
    assert full.headers.get("accept-ranges") == "bytes"
    part = client.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert len(part.content) == 100
    assert part.content == full.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(full.content)}"


@pytest.mark.jobs
def test_angles_csv_served(service, done_job):
    client, _ = service
    response = client.get(done_job["body"]["links"]["angles_csv"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    header, *rows = response.text.splitlines()
    assert header.startswith("time_s,") and "left_knee_flexion_deg" in header
    assert len(rows) == done_job["body"]["analysis"]["input"]["frames"]


@pytest.mark.jobs
def test_plots_served_and_names_validated(service, done_job):
    client, _ = service
    for url in done_job["body"]["links"]["plots"].values():
        response = client.get(url)
        assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    base = f"{API}/{done_job['id']}/plots"
    for name in ("nope.png", "analysis.json", "angles.csv", "..%2Fanalysis.json", "..%2F..%2Fformcheck.sqlite3"):
        response = client.get(f"{base}/{name}")
        assert response.status_code == 404, name
        assert response.json()["code"] == "not_found"


@pytest.mark.jobs
def test_report_page(service, done_job):
    client, _ = service
    response = client.get(f"{API}/{done_job['id']}/report")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "my clip.mp4" in html and "<h2>Reps</h2>" in html and "<h2>Findings</h2>" in html
    assert f"{API}/{done_job['id']}/video" in html and "/plots/" in html


def test_text_file_named_mp4_is_415_and_leaves_nothing(service, tmp_path):
    client, settings = service
    fake = tmp_path / "clip.mp4"
    fake.write_text("this is not a video\n" * 100)
    before = media_entries(settings)
    with open(fake, "rb") as fh:
        response = client.post(API, files={"file": ("clip.mp4", fh, "video/mp4")})
    assert response.status_code == 415
    error = response.json()
    assert error["code"] == "invalid_video"
    assert "clip.mp4" in error["message"] and error["hint"]
    assert "input" not in error["message"]  # the server's own file name is not leaked
    assert media_entries(settings) == before


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"exercise": "juggling"}, "invalid_parameter"), ({"model": "/etc/passwd"}, "invalid_parameter")],
)
def test_bad_parameters_are_422(service, short_clip, fields, code):
    client, settings = service
    before = media_entries(settings)
    with open(short_clip, "rb") as fh:
        response = client.post(API, files={"file": ("a.mp4", fh, "video/mp4")}, data=fields)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert media_entries(settings) == before


def test_upload_without_file_is_400(service):
    client, _ = service
    response = client.post(API, data={"exercise": "auto"}, files={"other": ("x.txt", b"x", "text/plain")})
    assert response.status_code == 400 and response.json()["code"] == "invalid_upload"
    response = client.post(API, content=b"raw", headers={"content-type": "video/mp4"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_upload"


def test_unknown_id_is_404(service):
    client, _ = service
    for job_id in (uuid.uuid4().hex, "not-an-id", "..", "x" * 300):
        for suffix in ("", "/video", "/angles.csv", "/report", "/plots/sagittal.png"):
            response = client.get(f"{API}/{job_id}{suffix}")
            assert response.status_code == 404, (job_id, suffix)
            assert response.json()["code"] == "not_found"
    assert client.delete(f"{API}/{uuid.uuid4().hex}").status_code == 404


@pytest.mark.jobs
def test_delete_while_running_stops_the_worker(service, done_job, short_clip):
    """The analysis is held in its pose stage: it ends only by noticing the deletion at a progress write."""
    client, settings = service
    manager = client.app.state.manager
    hold = hold_file(settings.data_dir)
    hold.touch()
    try:
        _, job_id = upload(client, short_clip, "c.mp4")
        wait_for_stage(client, job_id, "pose")
        assert client.delete(f"{API}/{job_id}").status_code == 204
        assert client.get(f"{API}/{job_id}").status_code == 404
        deadline = time.monotonic() + POLL_TIMEOUT_S
        while job_id in manager.running_pids() or (settings.media_dir / job_id).exists():
            assert time.monotonic() < deadline, "the analysis of the deleted job went on"
            time.sleep(0.1)
    finally:
        hold.unlink()
    time.sleep(1.0)
    assert not (settings.media_dir / job_id).exists()  # and it left nothing behind


@pytest.mark.jobs
def test_no_person_clip_fails_with_reason_then_delete(tmp_path):
    """The pipeline's own failure (its pose stage finds nobody) becomes the job's error."""
    settings = service_settings(tmp_path / "service")
    clip = write_video(tmp_path / "empty.mp4", times_s=[i / 30 for i in range(60)])
    with TestClient(create_app(settings, analyze=analysis_finding_nobody)) as client:
        with open(clip, "rb") as fh:
            response = client.post(API, files={"file": ("empty.mp4", fh, "video/mp4")})
        assert response.status_code == 202
        job_id = response.json()["id"]
        body = poll(client, job_id)
        assert body["status"] == "failed"
        assert body["error"]["code"] == "no_person" and body["error"]["hint"]
        assert body["analysis"] is None
        for suffix in ("/video", "/angles.csv", "/report"):
            response = client.get(f"{API}/{job_id}{suffix}")
            assert response.status_code == 409 and response.json()["code"] == "not_ready"
        assert client.delete(f"{API}/{job_id}").status_code == 204
        assert client.get(f"{API}/{job_id}").status_code == 404
        assert job_id not in media_entries(settings)


def test_oversize_upload_is_413(tmp_path):
    settings = service_settings(tmp_path, max_upload_bytes=10_000)
    with TestClient(create_app(settings)) as client:
        response = client.post(API, files={"file": ("big.mp4", b"\0" * 200_000, "video/mp4")})
        assert response.status_code == 413
        assert response.json()["code"] == "upload_too_large"
        assert media_entries(settings) == set()


def test_oversize_stream_is_refused_before_the_end(tmp_path):
    """Without Content-Length (chunked upload), reading stops soon after the limit is passed."""
    settings = service_settings(tmp_path, max_upload_bytes=100_000)
    app = create_app(settings)
    app.state.store.init()
    settings.media_dir.mkdir(parents=True)
    boundary = "xyzBOUNDARYxyz"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()
    chunk, total_chunks = b"\0" * 16_384, 1_000  # 16 MB offered
    sent = {"chunks": 0}
    messages = []

    async def receive():
        if sent["chunks"] == 0:
            sent["chunks"] += 1
            return {"type": "http.request", "body": head, "more_body": True}
        if sent["chunks"] <= total_chunks:
            sent["chunks"] += 1
            return {"type": "http.request", "body": chunk, "more_body": True}
        return {"type": "http.request", "body": f"\r\n--{boundary}--\r\n".encode(), "more_body": False}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": API, "raw_path": API.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"test"), (b"content-type", f"multipart/form-data; boundary={boundary}".encode())],
        "client": ("127.0.0.1", 1), "server": ("test", 80), "state": {},
    }
    asyncio.run(app(scope, receive, send))
    assert messages[0]["status"] == 413
    assert sent["chunks"] < 20  # ~100 kB read, not 16 MB
    assert media_entries(settings) == set()


@pytest.mark.jobs
def test_restart_requeues_or_fails_stuck_jobs(tmp_path):
    """Embedded queue only: with Postgres, a silent worker's jobs are swept (test_scale_workers.py)."""
    settings = service_settings(tmp_path, database_url=None, s3_bucket=None)
    store = JobStore(settings.db_url)
    store.init()
    # A job that was running when the server died, its upload still on disk: it runs again.
    again = uuid.uuid4().hex
    (settings.media_dir / again).mkdir(parents=True)
    write_video(settings.media_dir / again / "input.mp4", times_s=[i / 30 for i in range(45)])
    store.create(again, exercise="auto", model="lite", input_name="input.mp4", file_name="a.mp4")
    assert store.mark_running(again)
    (settings.media_dir / again / "results.partial").mkdir()  # half-written by the dead run
    # A job whose upload is gone: failed, with a reason.
    gone = uuid.uuid4().hex
    store.create(gone, exercise="auto", model="lite", input_name="input.mp4", file_name="b.mp4")
    assert store.mark_running(gone)

    # An upload cut off by the crash: a folder without a job.
    orphan = settings.media_dir / uuid.uuid4().hex
    orphan.mkdir()
    (orphan / "upload.part").write_bytes(b"\0" * 100)

    with TestClient(create_app(settings, analyze=analysis_finding_nobody)) as client:
        assert not orphan.exists()
        failed = client.get(f"{API}/{gone}").json()
        assert failed["status"] == "failed"
        assert failed["error"]["code"] == "interrupted" and "restarted" in failed["error"]["message"]
        body = poll(client, again)
        # It ran again through the pipeline (whose pose stage finds nobody here: a pipeline error).
        assert body["status"] == "failed" and body["error"]["code"] == "no_person"
        assert store.get(again).attempts == 2
        assert not (settings.media_dir / again / "results.partial").exists()


@pytest.mark.jobs
def test_shutdown_stops_running_job_for_recovery(tmp_path, short_clip):
    """Stopping the server kills running analyses. Embedded: they stay `running` (re-queued at the next
    start); Postgres: they go back to `queued` at once, for another worker."""
    settings = service_settings(tmp_path)
    hold_file(tmp_path).touch()  # the analysis is still in its pose stage when the server stops
    with TestClient(create_app(settings, analyze=scripted_analysis)) as client:
        _, job_id = upload(client, short_clip, "c.mp4")
        wait_for_stage(client, job_id, "pose")
        manager = client.app.state.manager
        processes = [slot.process for slot in manager._slots if slot.process is not None]
        assert processes
    for process in processes:
        process.join(timeout=10)
        assert not process.is_alive()
    time.sleep(0.5)  # let the pool's callbacks run
    job = JobStore(settings.db_url).get(job_id)
    assert job.status == ("queued" if settings.distributed else "running") and job.error_code is None
    assert job.attempts == 1
    assert (settings.media_dir / job_id / job.input_name).is_file()


def test_health_and_ready(service, monkeypatch, tmp_path):
    client, _ = service
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    monkeypatch.setenv("FORMCHECK_MODELS_DIR", str(tmp_path))  # no model bundles there
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["model"].startswith("missing")


def test_web_page_and_docs(service):
    client, _ = service
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/static/app.js" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert f"{API}/{{job_id}}/video" in paths and "multipart/form-data" in str(paths[API]["post"])
    exercises = client.get("/api/v1/exercises").json()
    assert "auto" in exercises["choices"] and "forward_lunge" in exercises["labels"]


def test_serve_subcommand_registers():
    import argparse

    from formcheck.service.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "2"])
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 9000, 2)
    assert callable(args.func)


def test_workers_capped_at_core_count(tmp_path):
    from formcheck.processes import available_cores

    assert service_settings(tmp_path, workers=512).workers == available_cores()
    assert ServiceSettings(data_dir=tmp_path).workers == available_cores()


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FORMCHECK_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("FORMCHECK_MAX_UPLOAD_BYTES", "1234")
    monkeypatch.setenv("FORMCHECK_MODEL", "heavy")
    settings = ServiceSettings()
    assert (settings.data_dir, settings.max_upload_bytes, settings.model) == (tmp_path / "d", 1234, "heavy")
    assert settings.pipeline_settings().pose.model == "heavy"
    assert isinstance(settings.pipeline_settings(), Settings)


@pytest.mark.jobs
def test_delete_removes_video_and_results(service, done_job):
    """Last in the module: removes the shared job."""
    client, settings = service
    job_id = done_job["id"]
    assert (settings.media_dir / job_id / "results" / "annotated.mp4").is_file()
    response = client.delete(f"{API}/{job_id}")
    assert response.status_code == 204 and response.content == b""
    assert not (settings.media_dir / job_id).exists()
    assert client.get(f"{API}/{job_id}").status_code == 404
    assert client.get(f"{API}/{job_id}/video").status_code == 404


def test_client_file_names_never_become_paths():
    from formcheck.service.upload import display_name, safe_suffix

    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\\\Users\\\\me\\\\run.MOV") == "run.MOV"
    assert display_name("a\x00b\nc.mp4") == "abc.mp4"
    assert display_name("") == "upload"
    assert safe_suffix("run.MOV") == ".mov"
    assert safe_suffix("../../x.sh") == ".video"
    assert safe_suffix("clip.mp4/../../../x") == ".video"
    assert safe_suffix("noext") == ".video"
