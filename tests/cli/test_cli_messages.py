"""What the CLI says: exercise names checked first and listed, no native log noise, plain numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import pytest

import formcheck.pipeline as pipeline
from formcheck.cli import EXIT_USER_ERROR, main
from formcheck.errors import UnknownExerciseError
from formcheck.movements import MovementReport, Rep, render_table
from formcheck.movements.exercises import names, registry, resolve
from formcheck.movements.feedback import fill_feedback
from formcheck.pose.quiet import NATIVE_LOGS_ENV, quiet_native_logs
from media_factory import write_video

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "lunge_synthetic_side.mp4"
NATIVE_MARKERS = ("LiteRT", "XNNPACK", "W0000", "model_load.cc", "InitGoogle")


def test_unknown_exercise_is_refused_before_the_video_is_read(capsys, tmp_path, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("the video was read before the exercise was checked")

    monkeypatch.setattr(pipeline, "probe", must_not_run)
    monkeypatch.setattr(pipeline, "extract_poses", must_not_run)
    clip = write_video(tmp_path / "clip.mp4")
    code = main(["analyze", str(clip), "--exercise", "lungee", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR
    assert "Unknown exercise 'lungee'" in err and "What to do" in err
    assert all(name in err for name in names())
    assert not (tmp_path / "o").exists()


def test_exercise_names_and_aliases_resolve_once():
    assert resolve(None) == resolve(" Auto ") == "auto"
    assert resolve("Step-Up") == "step_up" and resolve("forward lunge") == "forward_lunge"
    assert resolve("stepup") == "stepup" and resolve("MSEBT") == "msebt"   # aliases: family picked later
    with pytest.raises(UnknownExerciseError, match="squat"):
        resolve("juggling")


def test_analyze_help_lists_the_exercises(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")   # no wrapping inside a name such as step-up
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in names())


def test_quiet_window_drops_native_lines_only(capfd, monkeypatch):
    monkeypatch.delenv(NATIVE_LOGS_ENV, raising=False)
    with quiet_native_logs():
        os.write(2, b"INFO: [environment.cc:36] Creating LiteRT environment with options\n")
        os.write(2, b"W0000 00:00:1796512772.186385   15213 inference_runner_litert.cc:1433] Input tensor\n")
        print("a Python warning", file=sys.stderr)
    err = capfd.readouterr().err
    assert err == "a Python warning\n"

    with pytest.raises(RuntimeError), quiet_native_logs():    # a failed native call: everything shown
        os.write(2, b"INFO: [environment.cc:36] Creating LiteRT environment with options\n")
        raise RuntimeError("model failed")
    assert "Creating LiteRT" in capfd.readouterr().err

    monkeypatch.setenv(NATIVE_LOGS_ENV, "1")                  # formcheck -v
    with quiet_native_logs():
        os.write(2, b"WARNING: [model_load.cc:402] Sparsity tensors may not yet be fully supported.\n")
    assert "model_load.cc" in capfd.readouterr().err


@pytest.fixture(scope="module")
def short_lunge(tmp_path_factory) -> Path:
    """The first 1.5 s of the bundled sample: enough for the model, quick to analyse."""
    out = tmp_path_factory.mktemp("clip") / "short.mp4"
    with av.open(str(SAMPLE)) as src, av.open(str(out), "w") as dst:
        stream = dst.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i, frame in enumerate(src.decode(video=0)):
            if i == 45:
                break
            frame = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24", width=320, height=240), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode())
    return out


def _analyze(clip: Path, out: Path, *flags: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != NATIVE_LOGS_ENV}
    return subprocess.run([sys.executable, "-m", "formcheck.cli", *flags, "analyze", str(clip), "-q",
                           "--model", "lite", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow  # runs the pose model
def test_no_native_logs_unless_verbose(short_lunge, tmp_path):
    quiet = _analyze(short_lunge, tmp_path / "quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in quiet.stderr.splitlines() if any(m in line for m in NATIVE_MARKERS)], quiet.stderr

    verbose = _analyze(short_lunge, tmp_path / "verbose", "-v")
    assert verbose.returncode == 0, verbose.stderr
    assert "LiteRT" in verbose.stderr and "model_load.cc" in verbose.stderr


def _lunge_report(reps: int) -> MovementReport:
    metrics = {"peak_hip_flexion_deg": 71.04, "peak_knee_flexion_deg": 88.24, "hip_knee_ratio": 0.8046,
               "ankle_dorsiflexion_bottom_deg": -7.4, "descent_s": 0.4, "ascent_s": 1 / 3}
    return fill_feedback(MovementReport(
        exercise="forward_lunge", exercise_label="Forward lunge", exercise_confidence=0.78, view="sagittal",
        rep_count=reps, reps=[Rep(index=i + 1, side="left", start_s=2.0 * i, bottom_s=2.0 * i + 0.5,
                                  end_s=2.0 * i + 1.0, metrics=dict(metrics)) for i in range(reps)]))


def test_one_rep_singular_and_one_number_format():
    one = _lunge_report(1)
    assert one.feedback.runner[0].startswith("Forward lunge: 1 rep (1 left),")
    assert _lunge_report(2).feedback.runner[0].startswith("Forward lunge: 2 reps (2 left),")
    table = render_table(one).splitlines()
    assert table[0] == "Forward lunge (recognised, confidence 0.78; side view)"
    cells = table[3].split()
    # hip, knee, h/k, DF, trunk, FPPA, drop, down, up: degrees to 0.1, ratios and seconds to 0.01
    assert cells[6:15] == ["71.0", "88.2", "0.80", "-7.4", "-", "-", "-", "0.40", "0.33"]
    assert "knee flex 88.2°, hip/knee 0.80" in one.reps[0].feedback.clinician[0]


def test_unknown_exercise_has_no_confidence_and_lists_the_known_ones():
    unknown = fill_feedback(MovementReport(exercise="unknown", exercise_confidence=0.98, notes=["Film again."]))
    text = "\n".join([render_table(unknown), *unknown.feedback.runner, *unknown.feedback.clinician])
    assert "confidence" not in text and "0.98" not in text
    # named as people read them (the labels); `formcheck analyze --help` lists the names --exercise takes
    assert "Not one of the known exercises" in text and all(spec.label in text for spec in registry().values())
