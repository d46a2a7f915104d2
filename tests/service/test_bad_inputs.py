"""The bad-input corpus (issue #6, item 4), through the CLI and through the API.

Every file is made by the test in a temporary folder (from nothing, or from the real clips in
../shared/samples/videos for the cases that need a person). Each gets a clear error (code,
message, what to do) or an explicit partial result: from the CLI exit code 2 and a message
with no traceback, from the API a 4xx JSON error or a job failed with a reason, never a 500.
Nothing is left behind (no output folder for a refused file, no upload folder on the server).

Already covered elsewhere, not repeated here: probe-level errors of these files in
tests/sources/test_sources.py (messages), the text-named-.mp4 upload and the no-person job in
tests/service/test_service.py.

The clips with a person go through the pose model once: the CLI tests run it and remember its
landmarks per clip, and the API test's analyses replay them (scripted_analysis.memoised_pose_stage);
run alone, the API test runs the model.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from media_factory import (
    blank_frames,
    corrupt_middle,
    read_frames,
    side_by_side,
    write_audio_only,
    write_frames,
    write_image,
)
from samples_support import require_sample
from scripted_analysis import POSE_MEMO_ENV, memoised_model_analysis, memoised_pose_stage

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from formcheck import pipeline
from formcheck.cli import main
from formcheck.service import ServiceSettings
from formcheck.service.app import create_app

API = "/api/v1/analyses"
HEIGHT = 360  # small frames keep the pose runs short on 2 cores


def _truncated(path: Path, faststart: bool) -> Path:
    full = write_frames(path.with_name("full.mp4"), blank_frames(np.zeros((240, 320, 3), np.uint8), 90),
                        faststart=faststart)
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    full.unlink()
    return path


def _ten_hours(path: Path) -> Path:
    """Four frames, the last stamped at 10 h: a 40 kB file whose header says 600 minutes."""
    frames = blank_frames(np.zeros((240, 320, 3), np.uint8), 4)
    return write_frames(path, frames, times_s=[0.0, 1 / 30, 2 / 30, 36_000.0])


def _eight_k(path: Path) -> Path:
    return write_frames(path, [np.zeros((4320, 8192, 3), np.uint8)] * 2)


# name -> (make the file, HTTP status, error code, words in the message)
REFUSED: dict[str, tuple[Callable[[Path], Path], int, str, str]] = {
    "zero-byte": (lambda p: (p.write_bytes(b""), p)[1], 415, "invalid_video", "empty"),
    "truncated-index-at-end": (lambda p: _truncated(p, faststart=False), 415, "invalid_video", "not a video"),
    "text-renamed-mp4": (lambda p: (p.write_text("hello\n" * 500), p)[1], 415, "invalid_video", "not a video"),
    "image": (lambda p: write_image(p.with_suffix(".jpg")), 415, "invalid_video", "still image"),
    "audio-only": (lambda p: write_audio_only(p.with_suffix(".m4a")), 415, "invalid_video", "no video track"),
    "1x1-video": (lambda p: write_frames(p, [np.zeros((1, 1, 3), np.uint8)] * 45, codec="mjpeg"), 415,
                  "invalid_video", "too small"),
    "header-8k": (_eight_k, 415, "invalid_video", "8192x4320"),
    "header-10-hours": (_ten_hours, 413, "video_too_long", "600.0 min"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    return {name: make(folder / f"{name}.mp4") for name, (make, *_rest) in REFUSED.items()}


@pytest.fixture(scope="module")
def memo_in_environment(pose_memo) -> Iterator[None]:
    """The session's memo of the model's landmarks (module docstring), found by the analysis processes
    through FORMCHECK_TEST_POSE_MEMO."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(POSE_MEMO_ENV, str(pose_memo))
        yield


@pytest.fixture(scope="module")
def service(tmp_path_factory, memo_in_environment):
    settings = ServiceSettings(data_dir=tmp_path_factory.mktemp("service"), workers=1, model="lite",
                               progress_interval_s=0.2)
    with TestClient(create_app(settings, analyze=memoised_model_analysis), raise_server_exceptions=False) as client:
        yield client, settings


def media(settings: ServiceSettings) -> set[str]:
    return {p.name for p in settings.media_dir.iterdir()} if settings.media_dir.exists() else set()


def run_cli(video: Path, out: Path, capsys) -> tuple[int, str]:
    code = main(["analyze", str(video), "--out", str(out), "--model", "lite", "-q"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", list(REFUSED))
def test_cli_refuses_with_exit_2_and_a_hint(name, corpus, tmp_path, capsys):
    _, _, _, words = REFUSED[name]
    out = tmp_path / "out"
    code, err = run_cli(corpus[name], out, capsys)
    assert code == 2, err
    assert err.startswith("formcheck: ") and words in err and "What to do:" in err
    assert not out.exists()


@pytest.mark.parametrize("name", list(REFUSED))
def test_api_refuses_with_4xx_json_and_keeps_nothing(name, corpus, service):
    client, settings = service
    _, status, code, words = REFUSED[name]
    before = media(settings)
    with open(corpus[name], "rb") as fh:
        response = client.post(API, files={"file": (corpus[name].name, fh, "application/octet-stream")})
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and words in body["message"] and body["hint"]
    assert "input" not in body["message"]  # the user's file name, not the server's
    assert media(settings) == before


@pytest.mark.jobs
def test_cli_error_has_no_traceback_as_a_real_process(corpus, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "formcheck.cli", "analyze", str(corpus["truncated-index-at-end"]),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "What to do:" in result.stderr


# -- files that need the pose model: partial or complete results, or a failed job with a reason --

def _frames(name: str, seconds: float = 2.5) -> list[np.ndarray]:
    return read_frames(require_sample(f"videos/{name}.mp4"), seconds, HEIGHT)


def make_two_people(path: Path) -> Path:
    left, right = _frames("squat_side_01"), _frames("lunge_reverse_front_01")
    return write_frames(path, side_by_side(left[: len(right)], right[: len(left)]), fps=25)


def make_person_leaves(path: Path) -> Path:
    person = _frames("stepup_side_02_cropped", 2.0)
    return write_frames(path, person + blank_frames(person[0], 30), fps=24)


def make_rotated_portrait(path: Path) -> Path:
    upright = _frames("squat_side_01")  # portrait; stored sideways as phones do, upright by metadata
    return write_frames(path, [np.rot90(f, -1) for f in upright], fps=25, rotation=90)


def make_variable_rate(path: Path) -> Path:
    frames = _frames("stepup_side_02_cropped", 2.5)
    rng = np.random.default_rng(3)
    times = np.cumsum(np.r_[0.0, rng.choice([1 / 60, 1 / 30, 1 / 20], len(frames) - 1)])
    return write_frames(path, frames, times_s=list(times))


def make_corrupt_mid_stream(path: Path) -> Path:
    return corrupt_middle(write_frames(path, _frames("stepup_side_02_cropped", 2.5), fps=24, faststart=True))


def make_truncated_faststart(path: Path) -> Path:
    full = write_frames(path.with_name("whole.mp4"), _frames("stepup_side_02_cropped", 3.0), fps=24, faststart=True)
    data = full.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    full.unlink()
    return path


def make_no_person(path: Path) -> Path:
    return write_frames(path, blank_frames(np.zeros((HEIGHT, 480, 3), np.uint8), 60))


def check_two_people(analysis: dict) -> None:
    assert analysis["subject"]["people_seen"] >= 2
    assert any("person" in w or "people" in w for w in analysis["quality"]["warnings"]), analysis["quality"]


def check_person_leaves(analysis: dict) -> None:
    quality = analysis["quality"]
    assert 0.4 < quality["pose_fraction"] < 0.9
    assert any("only" in w for w in quality["warnings"]), quality  # says the person was not always there
    assert quality["longest_gap_s"] >= 0.8


def check_rotated(analysis: dict) -> None:
    assert analysis["input"]["rotation_deg"] in (90, 270)
    assert analysis["input"]["height"] > analysis["input"]["width"]
    assert analysis["quality"]["pose_fraction"] > 0.8  # a sideways person would be missed


def check_variable_rate(analysis: dict) -> None:
    assert analysis["quality"]["pose_fraction"] > 0.8
    assert 20 < analysis["input"]["fps"] < 60


def check_readable_part(analysis: dict) -> None:
    assert analysis["input"]["frames"] > 10
    assert analysis["quality"]["pose_fraction"] > 0.5


def check_damaged_frames(analysis: dict) -> None:
    """The frames around the damage are skipped, the rest analysed, and the result says so."""
    check_readable_part(analysis)
    assert any("could not be decoded" in w for w in analysis["quality"]["warnings"]), analysis["quality"]


def check_truncated(analysis: dict) -> None:
    """The readable first part is analysed, and the result says it is partial."""
    check_readable_part(analysis)
    assert analysis["input"]["frames"] < 0.8 * analysis["input"]["duration_s"] * analysis["input"]["fps"]
    assert any("could be decoded" in w for w in analysis["quality"]["warnings"]), analysis["quality"]


# name -> (make, check of a done analysis or None when the job must fail, expected failure code)
ANALYSED: dict[str, tuple[Callable[[Path], Path], Callable[[dict], None] | None, str | None]] = {
    "two-people": (make_two_people, check_two_people, None),
    "person-leaves-frame": (make_person_leaves, check_person_leaves, None),
    "rotated-portrait": (make_rotated_portrait, check_rotated, None),
    "variable-frame-rate": (make_variable_rate, check_variable_rate, None),
    "corrupt-mid-stream": (make_corrupt_mid_stream, check_damaged_frames, None),
    "truncated-index-first": (make_truncated_faststart, check_truncated, None),
    "no-person": (make_no_person, None, "no_person"),
}


@pytest.fixture(scope="module")
def people(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("people")
    return {name: make(folder / f"{name}.mp4") for name, (make, _, _) in ANALYSED.items()}


@pytest.mark.slow
@pytest.mark.samples
@pytest.mark.parametrize("name", list(ANALYSED))
def test_cli_analyses_or_explains(name, people, pose_memo, tmp_path, capsys):
    _, check, failure = ANALYSED[name]
    out = tmp_path / "out"
    with mock.patch.object(pipeline, "extract_poses", memoised_pose_stage(pose_memo, replay=False)):
        code, err = run_cli(people[name], out, capsys)
    if check is None:
        assert code == 2 and "What to do:" in err, err
        assert not (out / "analysis.json").exists()
    else:
        assert code == 0, err
        check(json.loads((out / "analysis.json").read_text()))
    assert not list(out.glob("*.tmp")) if out.exists() else True


@pytest.mark.slow
@pytest.mark.samples
def test_api_analyses_or_fails_with_a_reason(people, service):
    """All the uploads at once; every job ends done (with the same checks) or failed with a reason."""
    client, settings = service
    jobs = {}
    for name, path in people.items():
        with open(path, "rb") as fh:
            response = client.post(API, files={"file": (path.name, fh, "video/mp4")})
        assert response.status_code == 202, (name, response.text)
        jobs[name] = response.json()["id"]
    deadline = time.monotonic() + 600
    for name, job_id in jobs.items():
        while (body := client.get(f"{API}/{job_id}").json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, (name, body)
            time.sleep(0.3)
        _, check, failure = ANALYSED[name]
        if check is None:
            assert body["status"] == "failed" and body["error"]["code"] == failure and body["error"]["hint"], body
        else:
            assert body["status"] == "done", (name, body["error"])
            check(body["analysis"])
        job_dir = settings.media_dir / job_id
        assert not list(job_dir.glob("results.partial*")) and not list(job_dir.glob("*.part"))
