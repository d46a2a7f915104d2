"""Movement analysis on real clips dumped by the pipeline (/tmp/formcheck_angles/*.npz).

Skipped when the dumps are absent. Expectations are what the clips show (see docs/movements.md
for the per-clip notes, e.g. lunge_reverse_side_01 keeps a planted split stance)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from formcheck.movements import analyze_movement
from formcheck.series import AngleSeries, PoseSeries

DUMPS = Path("/tmp/formcheck_angles")


def load(name: str) -> tuple[PoseSeries, AngleSeries]:
    path = DUMPS / f"{name}.npz"
    if not path.exists():
        pytest.skip(f"{path} not available")
    d = np.load(path, allow_pickle=True)
    pose = PoseSeries(time_s=d["time_s"], image_xy=d["image_xy"], image_z=d["image_z"],
                      world_xyz=d["world_xyz"], visibility=d["visibility"], presence=d["presence"],
                      width=int(d["width"]), height=int(d["height"]))
    angles = AngleSeries(time_s=d["time_s"],
                         angles={k[len("angle__"):]: d[k] for k in d.files if k.startswith("angle__")},
                         facing=d["facing"], swapped_frames=d["swapped_frames"])
    return pose, angles


LUNGES = {"forward_lunge", "reverse_lunge", "lateral_lunge", "split_squat", "runners_lunge",
          "runners_lunge_press"}


@pytest.mark.parametrize("name, expect, reps, view", [
    ("squat_side_01", {"squat"}, (3, 4), "sagittal"),
    ("squat_goblet_front_01", {"squat"}, (4, 5), "frontal"),
    ("stepup_side_01", {"step_up", "step_up_knee_drive"}, (1, 1), "sagittal"),
    ("stepup_side_02_cropped", {"step_up", "step_up_knee_drive"}, (2, 4), "sagittal"),
    ("lunge_reverse_side_01", LUNGES, (6, 7), "sagittal"),
    ("lunge_reverse_front_01", LUNGES, (5, 5), None),
    ("lunge_lateral_front_01", {"lateral_lunge"}, (6, 6), "frontal"),
    ("splitsquat_bulgarian_side_01", LUNGES, (1, 1), "sagittal"),
])
def test_real_clip(name, expect, reps, view):
    r = analyze_movement(*load(name))
    assert r.exercise in expect, (r.exercise, r.recognition_scores)
    assert reps[0] <= r.rep_count <= reps[1]
    if view:
        assert r.view == view


def test_squat_with_forward_lean_is_flagged():
    r = analyze_movement(*load("squat_side_01"))
    assert any(f.code == "trunk_shin_squat" for f in r.all_flags())
