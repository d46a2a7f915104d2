"""Joint angles as an OpenSim motion file (`.mot`), for research users.

OpenSim's Storage format: a name line, `version=1`, `nRows`, `nColumns` (time included),
`inDegrees=yes`, `endheader`, then a tab-separated table whose first column is `time`.
Columns are named after OpenSim coordinates so the file loads onto a model (File > Load
Motion) or into a TimeSeriesTable:

| column | formcheck column | sign |
|---|---|---|
| `hip_flexion_r` / `_l` | `{side}_hip_flexion_deg` | + flexion (same as OpenSim) |
| `knee_angle_r` / `_l` | `{side}_knee_flexion_deg` | **negated** (below) |
| `ankle_angle_r` / `_l` | `{side}_ankle_dorsiflexion_deg` | + dorsiflexion (same as OpenSim) |

The knee is negated because in gait2392 (and gait2354) `knee_angle_r` runs from −120° (flexed)
to +10°, range −2.0944…0.1745 rad in `gait2392_simbody.osim`, so flexion is negative. Pass
`knee_flexion_negative=False` for a model whose knee coordinate is positive in flexion (check
its `<range>`).

What the numbers are: 2D angles from the image (or 3D from MediaPipe's world landmarks with
`use_3d=True`), docs/angles.md, not the result of OpenSim inverse kinematics. Hip flexion is
the thigh against the *trunk* line, whereas OpenSim's is against the pelvis, so they differ by
the pelvic tilt; the knee is the unsigned thigh–shank angle (hyperextension reads as small
flexion). Frontal-plane measures (FPPA, pelvic drop) have no coordinate in these models and
are not exported. A gap is written as `NaN`, which OpenSim's readers parse as not-a-number; so is
a column the clip does not support (kinematics.support), e.g. every 2D column of a front view.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from formcheck.series import AngleSeries

# (OpenSim coordinate, formcheck column base, sign applied when flexion is negative in the model)
OPENSIM_COORDINATES: tuple[tuple[str, str, int], ...] = (
    ("hip_flexion_r", "right_hip_flexion", 1),
    ("knee_angle_r", "right_knee_flexion", -1),
    ("ankle_angle_r", "right_ankle_dorsiflexion", 1),
    ("hip_flexion_l", "left_hip_flexion", 1),
    ("knee_angle_l", "left_knee_flexion", -1),
    ("ankle_angle_l", "left_ankle_dorsiflexion", 1),
)


@dataclass
class MotTable:
    """A parsed `.mot`: header key/values, the column names (time first) and the data (rows × columns)."""

    name: str
    header: dict[str, str]
    columns: list[str]
    data: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.data[:, self.columns.index(name)]


def mot_columns(
    angles: AngleSeries, *, use_3d: bool = False, knee_flexion_negative: bool = True
) -> dict[str, np.ndarray]:
    """OpenSim coordinate name -> degrees per frame, for the angles present in `angles`."""
    suffix = "_3d_deg" if use_3d else "_deg"
    out: dict[str, np.ndarray] = {}
    for coordinate, base, sign in OPENSIM_COORDINATES:
        name = base + suffix
        if name in angles.angles:
            factor = sign if knee_flexion_negative else 1
            out[coordinate] = factor * np.asarray(angles[name], dtype=float)
    if not out:
        raise ValueError(
            f"no hip/knee/ankle {'3D' if use_3d else '2D'} angle columns to export "
            f"(have: {', '.join(angles.names) or 'none'})"
        )
    return out


def _fmt(v: float) -> str:
    return f"{v:.6f}" if math.isfinite(v) else "NaN"


def mot_text(
    angles: AngleSeries,
    *,
    name: str = "formcheck joint angles",
    use_3d: bool = False,
    knee_flexion_negative: bool = True,
) -> str:
    """The `.mot` file content (see the module docstring for columns and signs)."""
    columns = mot_columns(angles, use_3d=use_3d, knee_flexion_negative=knee_flexion_negative)
    t = np.asarray(angles.time_s, dtype=float)
    kind = "3D world landmarks" if use_3d else "2D image landmarks"
    knee = "knee_angle negative in flexion (gait2392)" if knee_flexion_negative else "knee_angle positive in flexion"
    lines = [
        name.replace("\n", " "),
        "version=1",
        f"nRows={len(t)}",
        f"nColumns={len(columns) + 1}",
        "inDegrees=yes",
        "",
        f"Joint angles from formcheck ({kind}), degrees; {knee}. Time in seconds from the video's timestamps.",
        "endheader",
        "\t".join(["time", *columns]),
    ]
    data = list(columns.values())
    for k in range(len(t)):
        lines.append("\t".join([f"{t[k]:.6f}", *(_fmt(c[k]) for c in data)]))
    return "\n".join(lines) + "\n"


def write_mot(angles: AngleSeries, path: str | os.PathLike[str], **options) -> Path:
    """Write `mot_text(angles, **options)` to `path` and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mot_text(angles, **options), encoding="utf-8")
    return path


def read_mot(path: str | os.PathLike[str]) -> MotTable:
    """Parse a `.mot`/`.sto` (header up to `endheader`, then a tab-separated table with a header row)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    try:
        end = next(i for i, line in enumerate(lines) if line.strip() == "endheader")
    except StopIteration:
        raise ValueError(f"{path}: no 'endheader' line; not an OpenSim .mot/.sto file") from None
    header = dict(line.split("=", 1) for line in lines[1:end] if "=" in line)
    columns = lines[end + 1].split("\t")
    rows = [[float(v) for v in line.split("\t")] for line in lines[end + 2 :] if line.strip()]
    data = np.array(rows, dtype=float).reshape(len(rows), len(columns))
    return MotTable(name=lines[0] if end > 0 else "", header=header, columns=columns, data=data)
