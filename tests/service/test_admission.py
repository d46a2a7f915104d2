"""Admission control under concurrent uploads (issue #6, item 3; the full run is bench/load.py).

A real server process with a tiny queue (FORMCHECK_MAX_QUEUED=2, one worker) and 10 uploads at
once: some are refused with 429 and a Retry-After, none gets anything else, and every
accepted job finishes done. Refused uploads leave nothing on disk. Its jobs run the scripted
analysis of scripted_analysis.py (the pipeline without the pose model).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from formcheck.service import create_app
from service_support import API, media_entries, scripted_server, service_settings

pytestmark = pytest.mark.jobs  # a server process and its analysis process

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


@pytest.fixture(scope="module")
def load():
    if str(BENCH.parent) not in sys.path:
        sys.path.insert(0, str(BENCH.parent))  # its sibling server_process.py
    spec = importlib.util.spec_from_file_location("bench_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_full_queue_is_429_with_retry_after_before_the_body_is_read(tmp_path):
    settings = service_settings(tmp_path, max_queued=1, retry_after_s=7)
    with TestClient(create_app(settings)) as client:
        client.app.state.manager.shutdown()  # no worker takes the job: it stays queued
        sample = (Path(__file__).parents[2] / "samples" / "lunge_synthetic_side.mp4").read_bytes()
        first = client.post(API, files={"file": ("a.mp4", sample, "video/mp4")})
        assert first.status_code == 202
        refused = client.post(API, files={"file": ("b.mp4", b"\0" * 50_000, "video/mp4")})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "7"
        body = refused.json()
        assert body["code"] == "queue_full" and "7 s" in body["hint"]
        assert media_entries(settings) == {first.json()["id"]}


def test_concurrent_uploads_are_accepted_or_refused_and_none_is_lost(load, tmp_path):
    clip = load.short_clip(load.SAMPLE, tmp_path / "clip.mp4", seconds=1.5, width=320)
    data = tmp_path / "data"
    with scripted_server(data, env={"FORMCHECK_MAX_QUEUED": "2"}) as server:
        result = load.run_load(server.url, clip, uploads=10, timeout_s=300)
    print(load.report(result, 10, 2, 1))
    assert result.other == []
    assert result.refused.get(429, 0) >= 1  # the queue limit did refuse some
    assert len(result.accepted) >= 1 and len(result.accepted) + result.refused[429] == 10
    assert result.lost == [] and result.failed == {}
    assert result.done == len(result.accepted)
    assert result.health_errors == 0 and result.health_ms
    remaining = {p.name for p in (data / "media").iterdir()}
    assert remaining == set(result.accepted)  # a refused upload left no folder
