"""Jobs write no annotated MP4: the pages play the upload (/source) under the skeleton, and /video
draws the MP4 the first time someone asks for it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from formcheck.outputs.video import probe_codec
from formcheck.service.app import create_app
from formcheck.sources import probe
from scripted_analysis import scripted_analysis
from service_support import API, SAMPLE, cut_clip, poll, service_settings

pytestmark = pytest.mark.jobs  # an analysis process


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    clip = cut_clip(SAMPLE, tmp_path_factory.mktemp("clip") / "lunge.mp4")
    settings = service_settings(tmp_path_factory.mktemp("service"))
    with TestClient(create_app(settings, analyze=scripted_analysis)) as client:
        with open(clip, "rb") as fh:
            created = client.post(API, files={"file": ("lunge.mp4", fh, "video/mp4")}, data={"exercise": "auto"})
        assert created.status_code == 202, created.text
        body = poll(client, created.json()["id"])
        assert body["status"] == "done", body
        yield client, settings, body, clip


def _results(settings, job_id):
    return settings.data_dir / "media" / job_id / "results"


def test_a_job_writes_no_annotated_video(job):
    client, settings, body, _ = job
    assert "annotated_video" not in body["analysis"]["files"]
    assert not (_results(settings, body["id"]) / "annotated.mp4").exists()
    assert body["links"]["source"].endswith("/source") and body["links"]["video"].endswith("/video")


def test_the_source_is_the_upload_with_ranges(job):
    client, _, body, clip = job
    whole = client.get(body["links"]["source"])
    assert whole.status_code == 200 and whole.content == clip.read_bytes()
    assert whole.headers["content-type"].startswith("video/mp4")
    part = client.get(body["links"]["source"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == clip.read_bytes()[:100]


def test_video_is_drawn_on_the_first_request_then_served(job):
    client, settings, body, clip = job
    first = client.get(body["links"]["video"])
    assert first.status_code == 200 and first.headers["content-type"] == "video/mp4"
    path = _results(settings, body["id"]) / "annotated.mp4"
    assert path.is_file() and path.read_bytes() == first.content
    assert probe_codec(path)["frames"] == probe(clip).frame_count
    stamp = path.stat().st_mtime_ns
    assert client.get(body["links"]["video"]).content == first.content
    assert path.stat().st_mtime_ns == stamp  # served, not drawn again


def test_without_the_upload_there_is_no_video_to_draw(job, tmp_path):
    client, settings, body, _ = job
    folder = settings.data_dir / "media" / body["id"]
    (_results(settings, body["id"]) / "annotated.mp4").unlink(missing_ok=True)
    upload = next(p for p in folder.iterdir() if p.is_file())
    upload.rename(tmp_path / "kept")
    storage = client.app.state.manager.storage
    storage.delete_file(body["id"], upload.name)  # the bucket's copy too, in the scaled-out mode
    try:
        for link in ("video", "source"):
            gone = client.get(body["links"][link])
            assert gone.status_code == 410 and gone.json()["code"] == "video_not_kept"
    finally:
        (tmp_path / "kept").rename(upload)
        storage.put_file(body["id"], upload.name, upload)
