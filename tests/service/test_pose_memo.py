"""The tests' memo of the pose model's landmarks (scripted_analysis.memoised_pose_stage): the model
runs once per clip and settings, and a replay gives the pipeline the same landmarks and progress."""

from __future__ import annotations

import numpy as np

from formcheck import pipeline
from formcheck.config import PoseSettings
from formcheck.sources import probe
from scripted_analysis import memoised_pose_stage, scripted_lunge
from service_support import SAMPLE


def test_the_model_runs_once_per_clip_and_settings_and_a_replay_is_the_same(tmp_path, monkeypatch):
    runs = []

    def model_stage(info, settings, progress=None, subject=None, spool=None):
        runs.append(settings.model)
        for _ in range(info.frame_count if progress else 0):
            progress(1)
        return scripted_lunge(info)

    monkeypatch.setattr(pipeline, "extract_poses", model_stage)
    info, lite = probe(SAMPLE), PoseSettings(model="lite")
    memo = tmp_path / "memo"
    memo.mkdir()
    ticks: list[int] = []
    first = memoised_pose_stage(memo)(info, lite, progress=ticks.append)
    again = memoised_pose_stage(memo)(info, lite, progress=ticks.append)
    assert runs == ["lite"] and sum(ticks) == 2 * info.frame_count
    for name in ("time_s", "image_xy", "world_xyz", "visibility"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    assert again.subject == first.subject

    memoised_pose_stage(memo)(info, PoseSettings(model="full"))  # other settings: the model again
    memoised_pose_stage(memo, replay=False)(info, lite)  # recording only: the model again
    assert runs == ["lite", "full", "lite"]
