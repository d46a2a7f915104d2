"""Where the pose model bundles are. Never downloads: the bundles ship in `models/`."""

from __future__ import annotations

import os
from pathlib import Path

from formcheck.config import MODEL_NAMES
from formcheck.errors import ModelNotFoundError


def models_dir() -> Path:
    """$FORMCHECK_MODELS_DIR, else the repository's `models/` next to `src/`."""
    env = os.environ.get("FORMCHECK_MODELS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "models"


def resolve_model(model: str) -> Path:
    """A model name (lite/full/heavy) or a path to a user's own `.task` bundle."""
    if model in MODEL_NAMES:
        path = models_dir() / f"pose_landmarker_{model}.task"
        build_hint = f"Build it from the registries with: python models/build.py {model}"
    else:
        path = Path(model)
        build_hint = "Pass lite, full, heavy or the path of a pose_landmarker .task file."
    if not path.is_file():
        raise ModelNotFoundError(f"Pose model not found: {path}.", build_hint)
    return path
