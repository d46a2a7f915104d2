"""Flag thresholds: loaded from `thresholds.toml` (one reviewed file, citation next to each).

Users override any entry with a TOML file or a dict:

    load_thresholds({"knee_valgus_fppa": {"value": 12.0}})
    load_thresholds({"knee_valgus_fppa": 12.0})          # shorthand for the value
    load_thresholds(Path("my_thresholds.toml"))
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PATH = Path(__file__).with_name("thresholds.toml")

Evidence = Literal["published", "coaching default"]


class ThresholdEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    label: str
    value: float
    unit: str
    direction: Literal["above", "below"]
    evidence: Evidence
    source: str
    population: str = ""
    derivation: str = ""
    cue: str
    applies_to: list[str] = Field(default_factory=list)
    enabled: bool = True

    def exceeded(self, measured: float | None) -> bool:
        if measured is None or measured != measured:  # None or NaN
            return False
        return measured > self.value if self.direction == "above" else measured < self.value

    def extra(self, key: str, default: float) -> float:
        return float((self.model_extra or {}).get(key, default))


class Thresholds(BaseModel):
    entries: dict[str, ThresholdEntry]
    overridden: list[str] = Field(default_factory=list)

    def __getitem__(self, key: str) -> ThresholdEntry:
        return self.entries[key]

    def get(self, key: str) -> ThresholdEntry | None:
        entry = self.entries.get(key)
        return entry if entry is not None and entry.enabled else None


def _read(src: Path | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(src, Mapping):
        return dict(src)
    with open(src, "rb") as fh:
        return tomllib.load(fh)


def load_thresholds(override: Path | str | Mapping[str, Any] | None = None) -> Thresholds:
    """Defaults from thresholds.toml, then `override` (TOML path or dict) merged per entry."""
    raw = _read(DEFAULT_PATH)
    changed: list[str] = []
    if override is not None:
        for name, patch in _read(override).items():
            if not isinstance(patch, Mapping):
                patch = {"value": float(patch)}
            if name in raw:
                raw[name] = {**raw[name], **patch}
            else:
                raw[name] = dict(patch)  # a new entry must be complete; validated below
            changed.append(name)
    entries = {name: ThresholdEntry.model_validate(body) for name, body in raw.items()}
    return Thresholds(entries=entries, overridden=changed)
