"""Shared fixtures. Real clips live in ../shared/samples (never copied into the project).

Under CI (CI=true) a missing sample is a failure, never a silent skip. Nothing here imports the
pose model's library (mediapipe) at collection: the fixtures that run the model import it when used.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_SAMPLES = Path(os.environ.get("FORMCHECK_SHARED_SAMPLES", REPO.parent / "shared" / "samples"))


def require_sample(relative: str) -> Path:
    path = SHARED_SAMPLES / relative
    if not path.exists():
        message = f"sample {path} is missing (set FORMCHECK_SHARED_SAMPLES to the shared samples folder)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    return require_sample("SOURCES.md").parent


@pytest.fixture(scope="session")
def analysed():
    """Raw and cleaned landmarks plus angles per clip, computed once per test session."""
    from formcheck.config import PoseSettings
    from formcheck.kinematics import compute_kinematics
    from formcheck.pose.landmarker import extract_poses
    from formcheck.sources import probe

    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            info = probe(require_sample(f"videos/{name}.mp4"))
            raw = extract_poses(info, PoseSettings())
            clean, angles = compute_kinematics(raw)
            cache[name] = (raw, clean, angles)
        return cache[name]

    return get
