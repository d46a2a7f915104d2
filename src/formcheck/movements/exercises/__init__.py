"""Exercise registry: `exercises.toml` (one entry per exercise) + one module per movement pattern."""

from __future__ import annotations

import importlib
import tomllib
from functools import lru_cache
from pathlib import Path

from formcheck.errors import UnknownExerciseError
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


def names() -> list[str]:
    """Every name an exercise may be asked for by: auto, the registry's names, then the aliases."""
    specs, alias_map = _load()
    return ["auto", *sorted(specs), *sorted(alias_map)]


def resolve(name: str | None) -> str:
    """The one reading of a user's exercise name (CLI, service, analysis): "auto", a registry
    name or an alias, in any case and with "-" or " " for "_"; UnknownExerciseError lists the
    names, so a typo fails before any video is read."""
    raw = (name or "auto").strip().lower()
    key = raw.replace("-", "_").replace(" ", "_")
    specs, alias_map = _load()
    for candidate in (key, raw):            # normalised first, then as typed (an alias spelt with "-")
        if candidate == "auto" or candidate in specs or candidate in alias_map:
            return candidate
    raise UnknownExerciseError(
        f"Unknown exercise {raw if name is None else name[:40]!r}. Known: {', '.join(names())}.",
        "Use auto to recognise it from the movement, or one of the names above "
        "(an alias such as lunge picks the variant from the clip).")


def create(name: str) -> BaseExercise:
    specs = _load()[0]
    if name not in specs:
        raise ValueError(f"unknown exercise {name!r}; known: {', '.join(sorted(specs))}")
    spec = specs[name]
    mod = importlib.import_module(f"formcheck.movements.exercises.{spec.module}")
    return mod.Exercise(spec)


__all__ = ["registry", "aliases", "families", "names", "resolve", "create", "ExerciseSpec", "BaseExercise"]
