"""Exercise registry: `exercises.toml` (one entry per exercise) + one module per movement pattern."""

from __future__ import annotations

import importlib
import tomllib
from functools import lru_cache
from pathlib import Path

from formcheck.movements.exercises.base import BaseExercise, ExerciseSpec

REGISTRY_PATH = Path(__file__).resolve().parent.parent / "exercises.toml"


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, ExerciseSpec], dict[str, str]]:
    with open(REGISTRY_PATH, "rb") as fh:
        raw = tomllib.load(fh)
    aliases = dict(raw.pop("aliases", {}))
    specs = {name: ExerciseSpec(name=name, **body) for name, body in raw.items()}
    return specs, aliases


def registry() -> dict[str, ExerciseSpec]:
    return dict(_load()[0])


def aliases() -> dict[str, str]:
    return dict(_load()[1])


def families() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, spec in _load()[0].items():
        out.setdefault(spec.family, []).append(name)
    return out


def create(name: str) -> BaseExercise:
    specs = _load()[0]
    if name not in specs:
        raise ValueError(f"unknown exercise {name!r}; known: {', '.join(sorted(specs))}")
    spec = specs[name]
    mod = importlib.import_module(f"formcheck.movements.exercises.{spec.module}")
    return mod.Exercise(spec)


__all__ = ["registry", "aliases", "families", "create", "ExerciseSpec", "BaseExercise"]
