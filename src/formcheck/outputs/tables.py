"""Angles as CSV, for a spreadsheet or a clinician's own analysis.

Column order is fixed, so files from different sessions line up in a spreadsheet:
`time_s`, then the 2D columns, then the 3D columns (docs/angles.md), each group ordered

    hip flexion, knee flexion, ankle dorsiflexion (left, right), trunk lean,
    knee FPPA, pelvic drop, trunk lateral lean (left, right);

any further angle column follows its group in alphabetical order. Only columns present in
the AngleSeries are written. Angles have 2 decimals, `time_s` 3 (milliseconds: 2 decimals
would give equal times to neighbouring frames at 120 fps). A gap (NaN) is an empty cell,
which spreadsheets and pandas read as missing, unlike "nan" or 0. A column the clip does not
support (kinematics.support: the view, or landmarks at the picture's edge) keeps its place with
empty cells, so files still line up; the reason is in analysis.json `withheld_measures` (a
comment line here would break CSV readers).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from formcheck.series import AngleSeries

_BASE_ORDER: tuple[str, ...] = (
    "left_hip_flexion",
    "right_hip_flexion",
    "left_knee_flexion",
    "right_knee_flexion",
    "left_ankle_dorsiflexion",
    "right_ankle_dorsiflexion",
    "trunk_lean",
    "left_knee_fppa",
    "right_knee_fppa",
    "left_pelvic_drop",
    "right_pelvic_drop",
    "left_trunk_lateral_lean",
    "right_trunk_lateral_lean",
)
ANGLE_COLUMNS_2D: tuple[str, ...] = tuple(f"{b}_deg" for b in _BASE_ORDER)
ANGLE_COLUMNS_3D: tuple[str, ...] = tuple(f"{b}_3d_deg" for b in _BASE_ORDER)
ANGLE_COLUMN_ORDER: tuple[str, ...] = ANGLE_COLUMNS_2D + ANGLE_COLUMNS_3D


def ordered_columns(names: list[str] | tuple[str, ...]) -> list[str]:
    """The given angle column names in the documented CSV order."""
    present = set(names)
    known_2d = [c for c in ANGLE_COLUMNS_2D if c in present]
    known_3d = [c for c in ANGLE_COLUMNS_3D if c in present]
    extra = sorted(present - set(ANGLE_COLUMN_ORDER))
    extra_2d = [c for c in extra if not c.endswith("_3d_deg")]
    extra_3d = [c for c in extra if c.endswith("_3d_deg")]
    return known_2d + extra_2d + known_3d + extra_3d


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first), quoted with a
    leading apostrophe; numbers, and text that reads as a number ("-3.2"), are kept as they are."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def _fmt(value: float, decimals: int) -> str:
    v = float(value)
    if not math.isfinite(v):
        return ""
    text = f"{v:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def write_angles_csv(angles: AngleSeries, path: str | os.PathLike[str]) -> Path:
    """Write one row per frame: `time_s`, then every angle column in the documented order."""
    path = Path(path)
    columns = ordered_columns(angles.names)
    t = np.asarray(angles.time_s, dtype=float)
    data = []
    for name in columns:
        col = np.asarray(angles[name], dtype=float)
        if col.shape != t.shape:
            raise ValueError(f"angle column {name!r} has shape {col.shape}, time_s has {t.shape}")
        data.append(col)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["time_s", *columns])
        for k in range(len(t)):
            writer.writerow([_fmt(t[k], 3), *(_fmt(col[k], 2) for col in data)])
    return path


def read_angles_csv(path: str | os.PathLike[str]) -> AngleSeries:
    """Read back a file written by `write_angles_csv` (empty cells -> NaN; facing unknown -> 0)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0][:1] != ["time_s"]:
        raise ValueError(f"{path} is not a formcheck angles.csv (first column must be time_s)")
    header, body = rows[0], rows[1:]
    values = np.array([[float(v) if v else np.nan for v in row] for row in body], dtype=float).reshape(-1, len(header))
    return AngleSeries(
        time_s=values[:, 0],
        angles={name: values[:, k] for k, name in enumerate(header) if k},
        facing=np.zeros(len(values)),
    )
