"""Camera-setup check from the first (most recent) second of frames: is the whole body in the
picture, and is the camera where the chosen exercise needs it (side view or front view)?

The answer says what to change ("step back", "turn sideways"). The view comes from the offline
recognition (`movements.context.estimate_view`), which works on any window of frames; the view an
exercise needs comes from what it measures (`exercises.toml` `measures` and `MEASURE_TEXT`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from formcheck.landmarks import NOSE, SIDE_LANDMARKS
from formcheck.movements.context import ADVICE, MEASURE_TEXT, estimate_view
from formcheck.movements.exercises.base import ExerciseSpec
from formcheck.series import AngleSeries, PoseSeries

# Body parts that must be in the picture; each is a pair (left, right) except the head.
BODY_PARTS: dict[str, tuple[int, ...]] = {
    "head": (NOSE,),
    "shoulders": (SIDE_LANDMARKS["left"]["shoulder"], SIDE_LANDMARKS["right"]["shoulder"]),
    "hips": (SIDE_LANDMARKS["left"]["hip"], SIDE_LANDMARKS["right"]["hip"]),
    "knees": (SIDE_LANDMARKS["left"]["knee"], SIDE_LANDMARKS["right"]["knee"]),
    # Ankles and heels, not the toe tips: the model extrapolates a toe beyond the picture as soon
    # as a shoe tip touches its edge, while ankle and heel (what the angles hinge on) are still in.
    "feet": tuple(SIDE_LANDMARKS[s][j] for s in ("left", "right") for j in ("ankle", "heel")),
}
UPPER, LOWER = ("head", "shoulders"), ("knees", "feet")
VIEW_OF_NEED = {"side": "sagittal", "front": "frontal"}


@dataclass
class SetupCheck:
    ok: bool
    in_frame: bool
    view: str                     # estimated: sagittal | frontal | oblique | unknown
    required_view: str            # sagittal | frontal
    view_ok: bool
    messages: list[str] = field(default_factory=list)   # what to change, in the user's words
    missing: list[str] = field(default_factory=list)    # body parts out of the picture
    frames: int = 0

    def to_json(self) -> dict:
        return {"ok": self.ok, "in_frame": self.in_frame, "view": self.view,
                "required_view": self.required_view, "view_ok": self.view_ok,
                "messages": self.messages, "missing": self.missing, "frames": self.frames}


def required_view(spec: ExerciseSpec) -> str:
    """The view most of the exercise's measures need (a squat: side; a lateral lunge: front)."""
    needs = [MEASURE_TEXT.get(m, (m, "side"))[1] for m in spec.measures]
    need = "front" if needs.count("front") > needs.count("side") else "side"
    return VIEW_OF_NEED[need]


def _frame_messages(outside: dict[str, set[str]], unseen: list[str]) -> list[str]:
    edges = set().union(*outside.values()) if outside else set()
    top = any(p in UPPER for p in outside if "top" in outside[p])
    bottom = any(p in LOWER for p in outside if "bottom" in outside[p])
    out = []
    if (top and bottom) or ("top" in edges and "bottom" in edges):
        out.append("Step back: your whole body, head to feet, must fit in the picture.")
    elif "bottom" in edges:
        out.append("Step back or tilt the camera down: your "
                   + ("feet are" if "feet" in outside else "legs are") + " out of the picture.")
    elif "top" in edges:
        out.append("Step back or tilt the camera up: your head is out of the picture.")
    for side in ("left", "right"):
        if side in edges:
            out.append(f"Move toward the middle of the picture: you are past its {side} edge.")
    if unseen and not outside:
        out.append("Make sure nothing hides your " + ", ".join(unseen)
                   + ": the camera must see your whole body, head to feet.")
    return out


def _view_message(view: str, need: str, label: str) -> str:
    if need == "sagittal":
        turn = "Turn a little more side-on" if view == "oblique" else "Turn sideways"
        return f"{turn} to the camera: the {label} is checked from a side view ({ADVICE['side']})."
    turn = "Face the camera square on" if view == "oblique" else "Face the camera (or turn your back to it)"
    return f"{turn}: the {label} is checked from a front view ({ADVICE['front']})."


def check_setup(pose: PoseSeries, angles: AngleSeries | None, spec: ExerciseSpec,
                visibility_min: float = 0.5, margin: float = 0.02) -> SetupCheck:
    """Whole body in the picture and the right view, over a short window of raw landmarks.

    In frame: in the median frame of the window every body-part landmark (both sides: the far
    leg of a side view is predicted even when hidden) lies inside the image by `margin` of its
    size, and at least one landmark of each part is seen (visibility >= visibility_min).
    """
    need = required_view(spec)
    label = spec.label.lower() if spec.label else spec.name.replace("_", " ")
    det = pose.detected
    if not det.any():
        return SetupCheck(False, False, "unknown", need, False,
                          ["No person found: stand in front of the camera, whole body in the picture."],
                          list(BODY_PARTS), 0)
    xy = pose.image_xy[det] / (pose.width, pose.height)
    vis = pose.visibility[det]
    with np.errstate(invalid="ignore"):
        med_xy = np.nanmedian(xy, axis=0)
        med_vis = np.nanmedian(vis, axis=0)
    outside: dict[str, set[str]] = {}
    unseen: list[str] = []
    for part, ids in BODY_PARTS.items():
        p = med_xy[list(ids)]
        edges = set()
        edges |= {"left"} if np.any(p[:, 0] < margin) else set()
        edges |= {"right"} if np.any(p[:, 0] > 1 - margin) else set()
        edges |= {"top"} if np.any(p[:, 1] < margin) else set()
        edges |= {"bottom"} if np.any(p[:, 1] > 1 - margin) else set()
        if edges:
            outside[part] = edges
        elif not np.any(med_vis[list(ids)] >= visibility_min):
            unseen.append(part)
    in_frame = not outside and not unseen
    view = estimate_view(pose, angles).view if in_frame else "unknown"
    view_ok = view == need
    messages = _frame_messages(outside, unseen)
    if in_frame and not view_ok:
        messages.append(_view_message(view, need, label))
    return SetupCheck(in_frame and view_ok, in_frame, view, need, view_ok, messages,
                      sorted(set(outside) | set(unseen), key=list(BODY_PARTS).index), int(det.sum()))
