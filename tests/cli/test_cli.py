"""The CLI's answers to bad input: a clear message, a hint, exit code 2, nothing written."""

from __future__ import annotations

import pytest

from formcheck.cli import EXIT_USER_ERROR, main
from media_factory import write_video


def run(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_missing_file(capsys, tmp_path):
    code, err = run(capsys, "analyze", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o"))
    assert code == EXIT_USER_ERROR
    assert "does not exist" in err and "What to do" in err
    assert not (tmp_path / "o").exists()


def test_text_file_renamed_mp4(capsys, tmp_path):
    fake = tmp_path / "clip.mp4"
    fake.write_text("hello\n" * 100)
    code, err = run(capsys, "analyze", str(fake), "--out", str(tmp_path / "o"))
    assert code == EXIT_USER_ERROR and "not a video" in err


@pytest.mark.slow  # runs the pose model
def test_clip_with_no_person(capsys, tmp_path):
    blank = write_video(tmp_path / "blank.mp4", width=640, height=360, times_s=[i / 30 for i in range(60)])
    code, err = run(capsys, "analyze", str(blank), "--out", str(tmp_path / "o"), "--quiet", "--model", "lite")
    assert code == EXIT_USER_ERROR
    assert "No person" in err and "whole body" in err
    assert not (tmp_path / "o").exists()


def test_too_short(capsys, tmp_path):
    short = write_video(tmp_path / "short.mp4", times_s=[i / 30 for i in range(12)])
    code, err = run(capsys, "analyze", str(short), "--out", str(tmp_path / "o"))
    assert code == EXIT_USER_ERROR and "at least" in err


def test_unknown_model(capsys, tmp_path):
    clip = write_video(tmp_path / "c.mp4", times_s=[i / 30 for i in range(60)])
    code, err = run(capsys, "analyze", str(clip), "--model", str(tmp_path / "mine.task"))
    assert code == EXIT_USER_ERROR and "Pose model not found" in err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "analyze" in out and "synth" in out
