"""Which angle values a clip supports: the one rule the movement analysis and every output obey.

A value is kept only when (1) the camera view supports its measure: a side view sees the sagittal
plane, a front or back view the frontal plane, and a 2D angle of the other plane is a projection
artefact (docs/angles.md, "Which view supports which measure"); and (2), frame by frame, every
landmark it is computed from was seen (the cleaning's visibility rule: its position is not a gap)
and lies inside the picture by `EDGE_MARGIN`. The model keeps predicting a joint past the frame
edge, at high visibility (a toe tip below the bottom edge of a real squat clip: visibility 0.9),
so a value from such a point is a guess, not a measurement. The knee's frontal-plane projection
angle also needs the thigh in the picture's plane (`FPPA_THIGH_MIN`).
"""

from __future__ import annotations

import numpy as np

from formcheck.landmarks import SIDE_LANDMARKS, SIDES
from formcheck.series import AngleSeries, PoseSeries

# Share of the frame's width/height a landmark must stay inside the picture; the live set-up
# check asks the same of head and feet (LiveSettings.frame_margin).
EDGE_MARGIN = 0.02
# The FPPA needs the thigh at least this share of its length (clip 90th percentile) in the image:
# pointing more than 60 deg toward or away from the camera, its direction in the picture is mostly
# depth. A real goblet squat's bottoms read -80 to -117 deg there (thigh 0.35 of its length), its
# knees-out peaks -13 to -17 deg (thigh >= 0.93); rendered valgus peaks sit at >= 0.87.
FPPA_THIGH_MIN = 0.5

SAGITTAL_MEASURES = ("hip_flexion", "knee_flexion", "ankle_dorsiflexion", "trunk_lean", "heel_lift",
                     "shank_inclination")
FRONTAL_MEASURES = ("knee_fppa", "pelvic_drop", "trunk_lateral_lean")
# Foot pitch and the shank's tilt need the leg in the image plane (a side view); MediaPipe's 3D
# foot is no substitute (3D dorsiflexion at 45 deg on rendered clips: bias -18 to -35 deg).
SIDE_VIEW_ONLY = ("ankle_dorsiflexion", "heel_lift", "shank_inclination")

_TRUNK = (("left", "shoulder"), ("right", "shoulder"), ("left", "hip"), ("right", "hip"))
# Landmarks each measure is computed from (docs/angles.md): "own" = the column's side, "other" =
# the other leg's, "left"/"right" = that side whatever the column.
MEASURE_LANDMARKS: dict[str, tuple[tuple[str, str], ...]] = {
    "hip_flexion": (("own", "hip"), ("own", "knee")) + _TRUNK,
    "knee_flexion": (("own", "hip"), ("own", "knee"), ("own", "ankle")),
    "ankle_dorsiflexion": (("own", "knee"), ("own", "ankle"), ("own", "heel"), ("own", "foot_index")),
    "heel_lift": (("own", "ankle"), ("own", "heel"), ("own", "foot_index")),
    "shank_inclination": (("own", "knee"), ("own", "ankle")),
    "trunk_lean": _TRUNK,
    "knee_fppa": (("own", "hip"), ("own", "knee"), ("own", "ankle"), ("other", "hip")),
    "pelvic_drop": (("left", "hip"), ("right", "hip")),
    "trunk_lateral_lean": _TRUNK,
}
VIEW_TEXT = {"sagittal": "side", "frontal": "front", "oblique": "oblique (45°)"}


def measure_source(view: str, measure: str) -> str | None:
    """'2d', '3d' or None: where a view's value of a measure comes from (None: not supported)."""
    if measure in FRONTAL_MEASURES:
        return "2d" if view == "frontal" else None
    if measure in SAGITTAL_MEASURES:
        if view == "sagittal":
            return "2d"
        if measure in SIDE_VIEW_ONLY:
            return None
        if view == "oblique" or (view == "frontal" and measure == "knee_flexion"):
            return "3d"
    return None


def parse_column(name: str) -> tuple[str | None, str, bool]:
    """'left_knee_flexion_3d_deg' -> ('left', 'knee_flexion', True); 'trunk_lean_deg' -> (None, 'trunk_lean', False)."""
    base = name.removesuffix("_deg")
    is_3d = base.endswith("_3d")
    base = base.removesuffix("_3d")
    for side in SIDES:
        if base.startswith(side + "_"):
            return side, base[len(side) + 1:], is_3d
    return None, base, is_3d


def view_reason(view: str, measure: str, is_3d: bool) -> str | None:
    """Why a view withholds a column of `measure` (2D or 3D), or None when it supports it."""
    src = measure_source(view, measure)
    if src is not None and (is_3d or src == "2d"):
        return None   # a 3D estimate stays beside a supported 2D angle (docs/angles.md, "3D")
    if view == "unknown":
        return "the camera view could not be told from the landmarks"
    seen = f"filmed from a {VIEW_TEXT.get(view, view)} view"
    if src == "3d":
        return f"{seen}, the 2D angle is a projection; the 3D estimate ({measure}_3d) is reported instead"
    need = "a front or back view" if measure in FRONTAL_MEASURES else "a side view"
    return f"{seen}; this measure is only valid from {need}"


def landmark_support(pose: PoseSeries) -> np.ndarray:
    """(T, 33) bool: the landmark was seen (not a gap) and lies inside the frame by EDGE_MARGIN."""
    xy = pose.image_xy
    size = np.array([pose.width, pose.height], dtype=float)
    with np.errstate(invalid="ignore"):
        inside = (xy >= EDGE_MARGIN * size) & (xy <= (1 - EDGE_MARGIN) * size)
    return np.asarray(inside.all(axis=-1))


def measure_frames(ok: np.ndarray, measure: str, side: str | None) -> np.ndarray:
    """(T,) bool: every landmark `measure` (of `side`) is computed from is supported that frame.
    A measure with no landmark list (a future column) is left to the geometry's own NaNs."""
    other = {"left": "right", "right": "left"}.get(side or "")
    out = np.ones(len(ok), dtype=bool)
    for who, joint in MEASURE_LANDMARKS.get(measure, ()):
        s = {"own": side, "other": other}.get(who, who)
        out &= ok[:, SIDE_LANDMARKS[str(s)][joint]]
    return out


def thigh_in_plane(pose: PoseSeries, side: str) -> np.ndarray:
    """(T,) bool: the thigh shows at least FPPA_THIGH_MIN of its length in the image."""
    thigh = pose.image_xy[:, SIDE_LANDMARKS[side]["knee"]] - pose.image_xy[:, SIDE_LANDMARKS[side]["hip"]]
    length = np.linalg.norm(thigh, axis=1)
    if not np.isfinite(length).any():
        return np.zeros(len(length), dtype=bool)
    with np.errstate(invalid="ignore"):
        return length >= FPPA_THIGH_MIN * np.nanpercentile(length, 90)


def frames_supported(pose: PoseSeries, measure: str, side: str | None, ok: np.ndarray | None = None) -> np.ndarray:
    """(T,) bool: the frames whose picture supports `measure` of `side` (landmarks, and for the
    FPPA the thigh in the image plane); `ok` = landmark_support(pose), when already computed."""
    out = measure_frames(landmark_support(pose) if ok is None else ok, measure, side)
    if measure == "knee_fppa" and side in SIDES:
        out &= thigh_in_plane(pose, side)
    return out


def supported_angles(angles: AngleSeries, pose: PoseSeries, view: str) -> AngleSeries:
    """`angles` with what the clip does not support blanked (NaN), and why in `withheld`.

    A column the view does not support is blanked whole (reason: the view). Elsewhere a frame
    the picture does not support (`frames_supported`) loses its value; a column left with no
    value that way is listed too (reason: the picture). `pose` is the cleaned series the angles
    came from.
    """
    ok = landmark_support(pose)
    out: dict[str, np.ndarray] = {}
    withheld: dict[str, str] = dict(angles.withheld)
    for name, values in angles.angles.items():
        side, measure, is_3d = parse_column(name)
        values = np.asarray(values, dtype=float)
        reason = view_reason(view, measure, is_3d)
        if reason is not None:
            out[name] = np.full_like(values, np.nan)
            withheld[name] = reason
            continue
        keep = frames_supported(pose, measure, side, ok)
        out[name] = np.where(keep, values, np.nan)
        if np.isfinite(values).any() and not np.isfinite(out[name]).any():
            joints = sorted({j.replace("foot_index", "toe") for _, j in MEASURE_LANDMARKS.get(measure, ())})
            withheld[name] = ("in every frame where it was computed, a landmark it needs ("
                              + ", ".join(joints) + ") was at the edge of the picture"
                              + (", or the thigh pointed toward the camera" if measure == "knee_fppa" else ""))
    return AngleSeries(time_s=angles.time_s, angles=out, facing=angles.facing,
                       swapped_frames=angles.swapped_frames, withheld=withheld)
