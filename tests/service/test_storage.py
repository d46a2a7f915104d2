"""The media storage (issue 15): the data dir's media folder (default) and an S3 bucket, here a real
SeaweedFS started by the tests (s3_support), so that the API machine and the workers share no disk.

The same round trips run against both storages; the service tests then delete the API's local copy
of a finished job and get every result back from the bucket, run a job on a "worker machine" with
its own media folder, and check that a deleted analysis leaves nothing in the bucket.
"""

from __future__ import annotations

import pickle
import shutil
import time
import uuid
from pathlib import Path

import pytest

pytest.importorskip("boto3")
from fastapi.testclient import TestClient

from clinic_support import API as CLINIC_API
from clinic_support import athlete_with_screening, register
from formcheck.clinic.settings import ClinicSettings
from formcheck.service.app import create_app
from formcheck.service.storage import LocalStorage, S3Storage, StorageUnavailableError, storage_from_settings
from formcheck.service.worker import run_job
from s3_support import seaweed_server
from scripted_analysis import scripted_analysis
from service_support import API, SAMPLE, cut_clip, poll, service_settings


@pytest.fixture(scope="module")
def s3():
    with seaweed_server() as server:
        yield server


def s3_storage(s3, bucket: str) -> S3Storage:
    return S3Storage(bucket, s3.endpoint_url, access_key_id=s3.access_key, secret_access_key=s3.secret_key)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.jobs)])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    s3 = request.getfixturevalue("s3")
    return s3_storage(s3, s3.new_bucket())


def job_id() -> str:
    return uuid.uuid4().hex


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def write_tree(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def test_file_round_trip(storage, tmp_path):
    job, clip = job_id(), tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00video" * 1000)
    storage.put_file(job, "input.mp4", clip)
    assert storage.exists(job, "input.mp4")
    dest = tmp_path / "elsewhere" / job / "input.mp4"
    assert storage.fetch_file(job, "input.mp4", dest) is True
    assert dest.read_bytes() == clip.read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["input.mp4"]  # no temporary file left beside it


def test_missing_objects_are_an_answer_not_an_error(storage, tmp_path):
    job = job_id()
    dest = tmp_path / "cache" / job
    assert storage.exists(job, "input.mp4") is False
    assert storage.fetch_file(job, "input.mp4", dest / "input.mp4") is False
    assert storage.fetch_folder(job, "results", dest / "results") is False
    assert not dest.exists() or not any(dest.iterdir())  # nothing half-written
    storage.delete_file(job, "input.mp4")
    storage.delete_job(job)


def test_folder_round_trip_replaces_the_old_folder(storage, tmp_path):
    job = job_id()
    first = write_tree(tmp_path / "first", {"analysis.json": b"{}", "plots/knee.png": b"png", "angles.csv": b"t,a"})
    storage.put_folder(job, "results", first)
    cache = tmp_path / "cache" / job / "results"
    assert storage.fetch_folder(job, "results", cache) is True
    assert tree(cache) == tree(first)

    second = write_tree(tmp_path / "second", {"analysis.json": b'{"swapped": true}', "angles.csv": b"t,b"})
    storage.put_folder(job, "results", second)  # a re-run: the plot it no longer has goes
    assert storage.fetch_folder(job, "results", cache) is True  # over a stale copy
    assert tree(cache) == tree(second)
    assert sorted(p.name for p in cache.parent.iterdir()) == ["results"]


def test_delete_removes_one_job_only(storage, tmp_path):
    gone, kept = job_id(), job_id()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"clip")
    results = write_tree(tmp_path / "results", {"analysis.json": b"{}", "key_frames/a.jpg": b"jpg"})
    for job in (gone, kept):
        storage.put_file(job, "input.mp4", clip)
        storage.put_folder(job, "results", results)
    storage.delete_file(kept, "input.mp4")
    assert not storage.exists(kept, "input.mp4")
    storage.delete_job(gone)
    assert not storage.exists(gone, "input.mp4")
    assert storage.fetch_folder(gone, "results", tmp_path / "gone") is False
    assert storage.fetch_folder(kept, "results", tmp_path / "kept") is True
    assert tree(tmp_path / "kept") == tree(results)


@pytest.mark.jobs
def test_s3_storage_is_picklable_for_the_analysis_processes(s3, tmp_path):
    storage = s3_storage(s3, s3.new_bucket())
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"clip")
    storage.put_file("job", "input.mp4", clip)  # its client exists now
    copy = pickle.loads(pickle.dumps(storage))
    assert "client" not in copy.__dict__
    assert copy.fetch_file("job", "input.mp4", tmp_path / "copy.mp4")
    assert (tmp_path / "copy.mp4").read_bytes() == b"clip"


@pytest.mark.jobs
def test_an_unreachable_or_refusing_storage_says_so(s3, tmp_path):
    closed = S3Storage("formcheck", "http://127.0.0.1:9", access_key_id="k", secret_access_key="s")
    with pytest.raises(StorageUnavailableError, match=r"bucket formcheck\) could not read job/input.mp4"):
        closed.fetch_file("job", "input.mp4", tmp_path / "input.mp4")
    wrong_key = S3Storage(s3.new_bucket(), s3.endpoint_url, access_key_id=s3.access_key, secret_access_key="wrong")
    with pytest.raises(StorageUnavailableError, match="refused to list job/: SignatureDoesNotMatch") as raised:
        wrong_key.delete_job("job")
    assert raised.value.http_status == 503 and raised.value.code == "storage_unavailable"
    assert not (tmp_path / "input.mp4").exists()


@pytest.mark.jobs
def test_a_missing_bucket_is_created_at_start_and_an_existing_one_kept(s3, tmp_path):
    storage = s3_storage(s3, "made-at-start")

    def buckets() -> set[str]:
        return {bucket["Name"] for bucket in storage.client.list_buckets()["Buckets"]}

    assert "made-at-start" not in buckets()
    storage.prepare()
    assert "made-at-start" in buckets()
    storage.put_file("job", "a.txt", write_tree(tmp_path, {"a.txt": b"a"}) / "a.txt")
    storage.prepare()  # a second start keeps what is there
    assert storage.exists("job", "a.txt")


def test_settings_choose_the_storage(tmp_path):
    assert storage_from_settings(service_settings(tmp_path, s3_bucket=None)) == LocalStorage(tmp_path / "media")
    chosen = storage_from_settings(service_settings(tmp_path, s3_bucket="clips", s3_endpoint_url="http://s3:8333"))
    assert isinstance(chosen, S3Storage) and (chosen.bucket, chosen.endpoint_url) == ("clips", "http://s3:8333")


# -- the service on S3 ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    return cut_clip(SAMPLE, tmp_path_factory.mktemp("clip") / "short lunge.mp4")


def s3_settings(s3, data_dir: Path, bucket: str):
    return service_settings(data_dir, s3_bucket=bucket, s3_endpoint_url=s3.endpoint_url,
                            s3_access_key_id=s3.access_key, s3_secret_access_key=s3.secret_key)


@pytest.fixture(scope="module")
def s3_service(s3, tmp_path_factory):
    bucket = s3.new_bucket()
    settings = s3_settings(s3, tmp_path_factory.mktemp("api"), bucket)
    with TestClient(create_app(settings, analyze=scripted_analysis)) as client:
        yield client, settings, bucket


@pytest.fixture(scope="module")
def done_job(s3_service, short_clip) -> str:
    client, _, _ = s3_service
    with open(short_clip, "rb") as fh:
        response = client.post(API, files={"file": ("my clip.mp4", fh, "video/mp4")})
    assert response.status_code == 202, response.text
    body = poll(client, response.json()["id"])
    assert body["status"] == "done", body["error"]
    return body["id"]


@pytest.mark.jobs
def test_the_clip_and_results_are_in_the_bucket(s3, s3_service, done_job):
    _, _, bucket = s3_service
    keys = s3.keys(bucket, f"{done_job}/")
    assert f"{done_job}/input.mp4" in keys
    assert {f"{done_job}/results/analysis.json", f"{done_job}/results/landmarks.npz"} <= set(keys)


@pytest.mark.jobs
def test_results_come_back_from_the_bucket_without_the_local_copy(s3, s3_service, done_job, short_clip):
    client, settings, bucket = s3_service
    shutil.rmtree(settings.media_dir / done_job)  # this machine's cache is gone; the bucket has the truth
    body = client.get(f"{API}/{done_job}").json()
    assert body["status"] == "done" and body["analysis"]["movement"]["rep_count"] >= 1
    csv_name = body["analysis"]["files"]["angles_csv"]
    csv = client.get(f"{API}/{done_job}/angles.csv")
    stored = s3.client.get_object(Bucket=bucket, Key=f"{done_job}/results/{csv_name}")["Body"].read()
    assert csv.status_code == 200 and csv.content == stored
    shutil.rmtree(settings.media_dir / done_job)
    source = client.get(f"{API}/{done_job}/source")
    assert source.status_code == 200 and source.content == short_clip.read_bytes()
    assert client.get(f"{API}/{done_job}/skeleton").status_code == 200


@pytest.mark.jobs
def test_a_leg_swap_is_stored_in_the_bucket(s3_service, done_job):
    client, settings, _ = s3_service
    shutil.rmtree(settings.media_dir / done_job, ignore_errors=True)
    response = client.post(f"{API}/{done_job}/swap-legs", json={"from_s": 1.5})
    assert response.status_code == 200, response.text
    shutil.rmtree(settings.media_dir / done_job)  # the swapped results are read back from the bucket
    assert client.get(f"{API}/{done_job}").json()["analysis"]["quality"]["manual_leg_swaps_s"] == [1.5]


@pytest.mark.jobs
def test_a_worker_on_another_machine_fetches_the_clip_and_stores_the_results(s3_service, short_clip, tmp_path):
    client, settings, bucket = s3_service
    store, storage = client.app.state.store, client.app.state.manager.storage
    job = job_id()
    storage.put_file(job, "input.mp4", short_clip)
    store.create(job, exercise="lunge", model="lite", input_name="input.mp4", file_name="clip.mp4")
    worker_dir = tmp_path / "worker" / "media" / job  # the worker machine's own disk
    status = run_job(job, store.url, str(worker_dir), "input.mp4", settings.pipeline_settings().model_dump(mode="json"),
                     "lunge", analyze=scripted_analysis, storage=pickle.loads(pickle.dumps(storage)))
    assert status == "done"
    assert not worker_dir.exists()  # the worker's cache is dropped once the job is over
    body = client.get(f"{API}/{job}").json()
    assert body["status"] == "done" and body["analysis"]["movement"]["rep_count"] >= 1

    missing = job_id()
    store.create(missing, exercise="lunge", model="lite", input_name="input.mp4", file_name="clip.mp4")
    assert run_job(missing, store.url, str(tmp_path / "worker" / "media" / missing), "input.mp4", {}, "lunge",
                   analyze=scripted_analysis, storage=storage) == "failed"
    assert client.get(f"{API}/{missing}").json()["error"]["code"] == "input_missing"


@pytest.mark.jobs
def test_a_deleted_analysis_leaves_nothing_in_the_bucket(s3, s3_service, short_clip):
    client, settings, bucket = s3_service
    with open(short_clip, "rb") as fh:
        job = client.post(API, files={"file": ("clip.mp4", fh, "video/mp4")}).json()["id"]
    assert poll(client, job)["status"] == "done"
    assert s3.keys(bucket, f"{job}/")
    assert client.delete(f"{API}/{job}").status_code == 204
    assert s3.keys(bucket, f"{job}/") == []
    assert not (settings.media_dir / job).exists()


@pytest.mark.jobs
def test_a_clinic_keeping_no_video_keeps_none_in_the_bucket(s3, short_clip, tmp_path):
    """Keep-no-video deletes the clip from the bucket too; the key frames drawn before are stored
    with the results; deleting the athlete empties the bucket."""
    bucket = s3.new_bucket()
    settings = s3_settings(s3, tmp_path, bucket)
    with TestClient(create_app(settings, ClinicSettings(keep_video=False), analyze=scripted_analysis)) as client:
        auth = register(client, "a@clinic.test")
        athlete, screening = athlete_with_screening(client, auth)
        test = client.post(f"{CLINIC_API}/screenings/{screening}/tests", headers=auth, json={"kind": "lunge"}).json()
        with short_clip.open("rb") as fh:
            up = client.post(f"{CLINIC_API}/tests/{test['id']}/clip", headers=auth,
                             files={"file": ("lunge.mp4", fh, "video/mp4")})
        assert up.status_code == 202, up.text
        deadline = time.monotonic() + 240
        while (body := client.get(f"{CLINIC_API}/tests/{test['id']}", headers=auth).json())["status"] != "done":
            assert body["status"] != "failed" and time.monotonic() < deadline, body
            time.sleep(0.3)
        keys = s3.keys(bucket)
        assert not [k for k in keys if "/input." in k], keys
        assert [k for k in keys if "/results/key_frames/" in k and k.endswith(".jpg")], keys

        shutil.rmtree(settings.media_dir)  # the API machine's cache: everything comes back from the bucket
        assert client.get(f"{CLINIC_API}/tests/{test['id']}/analysis", headers=auth).status_code == 200
        assert list(settings.media_dir.glob("*/results/key_frames/index.json"))
        assert client.get(f"{CLINIC_API}/tests/{test['id']}/video", headers=auth).status_code == 410

        assert client.delete(f"{CLINIC_API}/athletes/{athlete}", headers=auth).status_code == 204
        assert s3.keys(bucket) == []
