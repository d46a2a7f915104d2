"""Per-upload distance scale (leg lengths, floor-marker size): form fields -> job -> analyze_video.

The API tests run with the analysis processes stopped (jobs stay queued), except the
old-database test, which lets one worker run a short clip on the migrated table (with the
scripted analysis of scripted_analysis.py, whose pose stage finds nobody: no model is loaded).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from media_factory import write_video

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from clinic_support import API as CLINIC_API
from clinic_support import athlete_with_screening, register
from db_support import OLD_JOBS_SCHEMA
from formcheck.clinic.scoring import score_sebt
from formcheck.service.app import create_app
from formcheck.service.jobs import JobManager
from formcheck.service.store import QUEUED, JobStore
from formcheck.service.worker import run_job
from scripted_analysis import analysis_finding_nobody
from service_support import API, media_entries, poll, service_settings

SCALE = {"leg_length_left_cm": 92.5, "leg_length_right_cm": 91.0, "marker_size_cm": 15.0}
NO_SCALE = dict.fromkeys(SCALE)

@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """2 s of a synthetic pattern: decodes (the upload is accepted), has no person in it."""
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4")


@pytest.fixture(scope="module")
def idle(tmp_path_factory):
    """The app with its analysis processes stopped: uploads are accepted and stay queued."""
    settings = service_settings(tmp_path_factory.mktemp("service"))
    with TestClient(create_app(settings)) as client:
        client.app.state.manager.shutdown()
        yield client, settings


def upload(client: TestClient, clip: Path, fields: dict, url: str = API, headers: dict | None = None):
    with open(clip, "rb") as fh:
        return client.post(url, files={"file": ("clip.mp4", fh, "video/mp4")},
                           data={k: str(v) for k, v in fields.items()}, headers=headers)


@pytest.mark.parametrize("fields", [SCALE, {"leg_length_left_cm": 92.5}, {"marker_size_cm": 4.5}, {}])
def test_scale_is_stored_and_echoed(idle, clip, fields):
    client, settings = idle
    response = upload(client, clip, fields)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    expected = {**NO_SCALE, **fields}
    assert client.get(f"{API}/{job_id}").json()["scale"] == expected
    job = JobStore(settings.db_url).get(job_id)
    assert {name: getattr(job, name) for name in SCALE} == expected


@pytest.mark.parametrize(("field", "value"), [
    ("leg_length_left_cm", "39.9"), ("leg_length_right_cm", "141"), ("marker_size_cm", "1.5"),
    ("marker_size_cm", "101"), ("leg_length_left_cm", "ninety"), ("marker_size_cm", "nan"),
])
def test_out_of_range_scale_is_422_naming_the_field_and_queues_nothing(idle, clip, field, value):
    client, settings = idle
    store = JobStore(settings.db_url)
    jobs, queued, media = store.ids(), store.count(QUEUED), media_entries(settings)
    response = upload(client, clip, {**SCALE, field: value})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert field in body["message"] and value in body["message"] and "cm" in body["hint"]
    assert store.ids() == jobs and store.count(QUEUED) == queued and media_entries(settings) == media


def test_schema_documents_the_scale_fields(idle):
    client, _ = idle
    schema = client.get("/openapi.json").json()
    def fields(path: str) -> dict:
        return schema["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]

    upload_fields, clip_fields = fields(API), fields(f"{CLINIC_API}/tests/{{test_id}}/clip")
    assert upload_fields["leg_length_left_cm"]["minimum"] == 40
    assert upload_fields["leg_length_right_cm"]["maximum"] == 140
    assert upload_fields["marker_size_cm"]["type"] == "number"
    assert "marker_size_cm" in clip_fields and "leg_length_left_cm" not in clip_fields  # the athlete's are used


@pytest.mark.jobs
def test_old_database_is_migrated_and_its_jobs_still_run(tmp_path, clip):
    settings = service_settings(tmp_path, database_url=None)  # an old release's SQLite file, in either test mode
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    old = uuid.uuid4().hex
    (settings.media_dir / old).mkdir(parents=True)
    (settings.media_dir / old / "input.mp4").write_bytes(clip.read_bytes())
    with sqlite3.connect(settings.db_path) as conn:
        conn.executescript(OLD_JOBS_SCHEMA)
        conn.execute("INSERT INTO jobs (id, status, exercise, model, input_name, file_name, created_at, updated_at)"
                     " VALUES (?, 'queued', 'auto', 'lite', 'input.mp4', 'old.mp4', '2025-01-01T00:00:00+00:00',"
                     " '2025-01-01T00:00:00+00:00')", (old,))
    conn.close()

    with TestClient(create_app(settings, analyze=analysis_finding_nobody)) as client:
        with sqlite3.connect(settings.db_path) as conn:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
        conn.close()
        assert set(SCALE) <= columns
        # The old job was re-queued at start and ran through a worker (whose pose stage finds nobody).
        body = poll(client, old)
        assert body["status"] == "failed" and body["error"]["code"] == "no_person"
        assert body["scale"] == NO_SCALE and body["file_name"] == "old.mp4"
        response = upload(client, clip, SCALE)
        assert response.status_code == 202, response.text
        assert client.get(f"{API}/{response.json()['id']}").json()["scale"] == SCALE
    JobStore(settings.db_url).init()  # opening it again is a no-op
    assert JobStore(settings.db_url).get(old).marker_size_cm is None


@pytest.mark.parametrize(("scale", "legs", "marker"), [
    (SCALE, {"left": 92.5, "right": 91.0}, 15.0),
    ({"leg_length_right_cm": 88.0}, {"right": 88.0}, None),
    ({"marker_size_cm": 20.0}, None, 20.0),
    ({}, None, None),
])
def test_worker_passes_the_scale_to_analyze_video(tmp_path, monkeypatch, scale, legs, marker):
    """The job's scale goes through the manager's queue entry and `run_job` into `analyze_video`."""
    import formcheck.pipeline

    calls = []

    def fake_analyze_video(video, out_dir, settings, **kwargs):
        calls.append(kwargs)
        Path(out_dir).mkdir(parents=True)

    monkeypatch.setattr(formcheck.pipeline, "analyze_video", fake_analyze_video)
    settings = service_settings(tmp_path)
    store = JobStore(settings.db_url)
    store.init()
    job_id = uuid.uuid4().hex
    (settings.media_dir / job_id).mkdir(parents=True)
    (settings.media_dir / job_id / "input.mp4").write_bytes(b"")  # run_job checks the input is there
    job = store.create(job_id, exercise="msebt", model="lite", input_name="input.mp4", file_name="c.mp4", **scale)
    manager = JobManager(settings, store)  # not started: the queue entry is run here, in-process
    manager.submit(job)
    run = manager._queue.get_nowait()

    assert run_job(*run.args) == "done"
    assert len(calls) == 1
    assert calls[0]["leg_length_cm"] == legs and calls[0]["marker_size_cm"] == marker
    assert calls[0]["exercise"] == "msebt"


def test_clinic_clip_job_gets_the_athletes_legs_and_the_form_marker(idle, clip):
    client, settings = idle
    auth = register(client, "scale@example.org")
    cid = client.get(f"{CLINIC_API}/auth/me", headers=auth).json()["id"]
    _, screening = athlete_with_screening(client, auth)  # legs 90 / 91 cm
    test = client.post(f"{CLINIC_API}/screenings/{screening}/tests", headers=auth,
                       json={"kind": "msebt", "leg": "left", "direction": "anterior"}).json()
    url = f"{CLINIC_API}/tests/{test['id']}/clip"

    media = media_entries(settings)
    refused = upload(client, clip, {"marker_size_cm": "0.5"}, url, auth)
    assert refused.status_code == 422 and "marker_size_cm" in refused.json()["message"]
    assert media_entries(settings) == media

    # The form's leg length is ignored: the clinic uses the athlete's.
    response = upload(client, clip, {"marker_size_cm": 15, "leg_length_left_cm": 50}, url, auth)
    assert response.status_code == 202, response.text
    assert response.json()["job"]["marker_size_cm"] == 15.0
    clinic = client.app.state.clinic
    row = clinic.store.test(cid, test["id"])
    job = JobStore(settings.db_url).get(row["job_id"])
    assert (job.leg_length_left_cm, job.leg_length_right_cm, job.marker_size_cm) == (90.0, 91.0, 15.0)

    # Scoring says which scale was used; a marker that was not found, or found but not usable
    # for this reach, is noted with the analysis' reason.
    def analysis(marker=None, unsupported=(), near_side="left", **metrics):
        rep = SimpleNamespace(side="left", index=1, complete=True, metrics={"reach_pct_leg": 70.0, **metrics})
        return SimpleNamespace(movement=SimpleNamespace(reps=[rep], scale={"marker": marker}, near_side=near_side,
                                                        unsupported_measures=list(unsupported), view="sagittal"))

    trials, notes = clinic.trials(row, analysis(reach_cm=63.0, reach_scale="leg_length"), job)
    assert trials[0].cm_source is None and trials[0].reach_pct_limb == 70.0
    assert any("15 cm floor marker was not found" in n for n in notes)
    off_plane = SimpleNamespace(measure="reach_cm", reason="the posteromedial reach runs partly in depth")
    trials, notes = clinic.trials(row, analysis({"marker_size_cm": 15.0}, [off_plane], reach_cm=63.0,
                                                reach_scale="leg_length"), job)
    assert trials[0].cm_source is None
    assert [n for n in notes if "found but" in n and "posteromedial reach runs partly in depth" in n]
    assert not any("not found" in n for n in notes)
    score = score_sebt(trials, {"left": 90.0, "right": 91.0})
    assert score.scales == ["leg_length"] and "leg length" in score.scale_note

    trials, notes = clinic.trials(row, analysis(reach_cm=60.0, reach_scale="marker"), job)
    assert trials[0].cm_source == "marker" and trials[0].reach_cm == 60.0 and notes == []
    # the stance leg (left) filmed as the far one is noted; front views (no near side) are not
    _, notes = clinic.trials(row, analysis(near_side="right", reach_cm=60.0, reach_scale="marker"), job)
    assert [n for n in notes if "left (stance) leg was the one farther from the camera" in n]
    _, notes = clinic.trials(row, analysis(near_side=None, reach_cm=60.0, reach_scale="marker"), job)
    assert notes == []
    score = score_sebt(trials, {"left": 90.0, "right": 91.0})
    assert score.scales == ["marker"] and "floor marker" in score.scale_note


@pytest.mark.parametrize(("value", "stored"), [("0.62,0.48@1.5", "0.62,0.48@1.5"), ("largest", "largest"),
                                                ("auto", None), ("", None)])
def test_subject_choice_is_stored_for_the_worker(idle, clip, value, stored):
    client, settings = idle
    response = upload(client, clip, {"subject": value})
    assert response.status_code == 202, response.text
    assert JobStore(settings.db_url).get(response.json()["id"]).subject == stored
    assert client.get(f"{API}/{response.json()['id']}").json()["subject"] == (stored or "auto")


@pytest.mark.parametrize("value", ["1.5,0.5", "someone", "0.5,0.5@-2"])
def test_bad_subject_is_422_and_queues_nothing(idle, clip, value):
    client, settings = idle
    store = JobStore(settings.db_url)
    jobs = store.ids()
    response = upload(client, clip, {"subject": value})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_parameter" and "X,Y@T" in response.json()["hint"]
    assert store.ids() == jobs
