"""The shared real clips (../shared/samples, never copied into the project). Under CI (CI=true) a
missing sample is a failure, never a silent skip."""

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
