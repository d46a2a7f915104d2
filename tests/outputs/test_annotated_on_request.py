"""The annotated MP4 is optional: skipped on request, and rendered later from the results folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from formcheck.config import Settings
from formcheck.outputs.video import probe_codec
from formcheck.pipeline import analyze_video, render_annotated_video
from formcheck.sources import iter_frames, probe

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "lunge_synthetic_side.mp4"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    settings = Settings()
    settings.pose.model = "lite"
    out = tmp_path_factory.mktemp("no-video")
    analyze_video(SAMPLE, out, settings, annotated_video=False)
    return out


def test_no_video_writes_no_mp4_and_lists_none(analysed):
    analysis = json.loads((analysed / "analysis.json").read_text())
    assert "annotated_video" not in analysis["files"]
    assert not list(analysed.glob("*.mp4"))
    assert (analysed / "landmarks.npz").is_file() and (analysed / "angles.csv").is_file()


def test_rendered_later_it_has_every_frame_and_the_skeleton(analysed):
    path = render_annotated_video(SAMPLE, analysed)
    codec = probe_codec(path)
    source = probe(SAMPLE)
    assert codec["frames"] == source.frame_count and codec["pix_fmt"] == "yuv420p"
    assert not list(analysed.glob("*.tmp*"))
    # the drawing differs from the plain clip where the skeleton is (hip-knee-ankle of a person)
    drawn = next(iter_frames(probe(path), pixel_format="bgr24")).image.astype(int)
    plain = next(iter_frames(source, pixel_format="bgr24", max_long_side=drawn.shape[1])).image.astype(int)
    changed = np.abs(drawn - plain).max(axis=2) > 60
    assert 0.002 < changed.mean() < 0.3
