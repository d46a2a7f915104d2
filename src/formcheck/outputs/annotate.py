"""Drawing on video frames: skeleton, joint angles, header text.

Each function draws *in place* on a BGR uint8 frame and returns that same frame, so calls
compose (`draw_header(draw_joint_angles(draw_skeleton(f, xy), xy, v), lines)`) without
copying a full-resolution frame per layer. Nothing here reads files or keeps state, so every
function is testable on a synthetic array.

Sizes scale with the frame's shorter side (not the height alone), so a portrait phone
video gets the same text-to-body proportion as a landscape one, from 360p up to 4K.
Left/right are the *person's* sides (MediaPipe's labels); the colours are shared with
`plots.py` so the video and the charts read the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from formcheck.landmarks import LEFT_RIGHT_PAIRS, NUM_LANDMARKS, SIDE_LANDMARKS, SIDES, SKELETON_EDGES

# Blue / orange: distinguishable with the common colour-vision deficiencies, and readable
# both on white (plots) and on the dark label boxes of the video.
SIDE_COLORS_HEX: dict[str, str] = {"left": "#1E90FF", "right": "#FF8C00"}
MIDLINE_COLOR_HEX = "#E6E6E6"  # edges joining the two sides (shoulders, hips)

# Joint labels drawn by draw_joint_angles: joint -> ((short label, 2D column template), ...).
JOINT_ANGLE_LABELS: dict[str, tuple[tuple[str, str], ...]] = {
    "hip": (("H", "{side}_hip_flexion_deg"),),
    "knee": (("K", "{side}_knee_flexion_deg"),),
    "ankle": (("A", "{side}_ankle_dorsiflexion_deg"),),
}
# The annotated video also writes the knee's frontal-plane projection angle, which stays blank
# unless the view supports it (a front view).
VIDEO_ANGLE_LABELS: dict[str, tuple[tuple[str, str], ...]] = {
    **JOINT_ANGLE_LABELS, "knee": (("K", "{side}_knee_flexion_deg"), ("FPPA", "{side}_knee_fppa_deg")),
}

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_LEFT_IDS = frozenset(a for a, _ in LEFT_RIGHT_PAIRS)
_RIGHT_IDS = frozenset(b for _, b in LEFT_RIGHT_PAIRS)
_SHIFT = 4  # cv2 fixed-point bits: sub-pixel accurate lines and circles
_ONE = 1 << _SHIFT


def hex_to_bgr(color: str) -> tuple[int, int, int]:
    """'#RRGGBB' -> (B, G, R) for cv2."""
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return (b, g, r)


SIDE_COLORS_BGR: dict[str, tuple[int, int, int]] = {k: hex_to_bgr(v) for k, v in SIDE_COLORS_HEX.items()}
_MIDLINE_BGR = hex_to_bgr(MIDLINE_COLOR_HEX)
_OUTLINE_BGR = (20, 20, 20)
_TEXT_BGR = (255, 255, 255)


@dataclass(frozen=True)
class Scale:
    """Pixel sizes for one frame size, derived from its shorter side."""

    font: float
    text_thickness: int
    line: int
    radius: int
    pad: int

    @classmethod
    def for_frame(cls, frame: np.ndarray) -> Scale:
        short = min(frame.shape[0], frame.shape[1])
        unit = short / 720.0
        font = max(0.45, 0.75 * unit)
        return cls(
            font=font,
            text_thickness=max(1, round(1.7 * font)),
            line=max(2, round(3 * unit)),
            radius=max(3, round(5 * unit)),
            pad=max(3, round(6 * unit)),
        )


def _check_frame(frame: np.ndarray) -> None:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError("frame must be a BGR uint8 array of shape (H, W, 3)")
    if not frame.flags.c_contiguous:
        raise ValueError("frame must be C-contiguous (cv2 draws in place); pass np.ascontiguousarray(frame)")


def _check_xy(xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(xy, dtype=float)
    if xy.shape != (NUM_LANDMARKS, 2):
        raise ValueError(f"xy must have shape ({NUM_LANDMARKS}, 2), got {xy.shape}")
    return xy


def _usable(xy: np.ndarray, visible: np.ndarray | None) -> np.ndarray:
    """(33,) bool: finite coordinates and, if given, marked visible."""
    ok = np.isfinite(xy).all(axis=1)
    if visible is not None:
        vis = np.asarray(visible, dtype=bool)
        if vis.shape != (NUM_LANDMARKS,):
            raise ValueError(f"visible must have shape ({NUM_LANDMARKS},), got {vis.shape}")
        ok &= vis
    return ok


def _fixed(p: np.ndarray, frame: np.ndarray) -> tuple[int, int]:
    """Pixel point -> cv2 fixed-point ints, clipped so far-off points cannot overflow."""
    h, w = frame.shape[:2]
    lim = 4 * max(h, w)
    # min/max on floats, not np.clip: this runs ~100 times per frame and np.clip on scalars is slow
    x = min(max(float(p[0]), -lim), lim)
    y = min(max(float(p[1]), -lim), lim)
    return (round(x * _ONE), round(y * _ONE))


def _side_of(i: int) -> str | None:
    return "left" if i in _LEFT_IDS else "right" if i in _RIGHT_IDS else None


def _edge_color(a: int, b: int) -> tuple[int, int, int]:
    sa, sb = _side_of(a), _side_of(b)
    return SIDE_COLORS_BGR[sa] if sa is not None and sa == sb else _MIDLINE_BGR


def _darken(frame: np.ndarray, x0: int, y0: int, x1: int, y1: int, alpha: float = 0.7) -> None:
    """Darken a box so text stays readable on any background (bright sky, white wall)."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return
    roi = frame[y0:y1, x0:x1]
    roi[:] = (roi.astype(np.float32) * (1.0 - alpha)).astype(np.uint8)


# OpenCV 5 renders UTF-8 with a built-in TrueType font; OpenCV 4's Hershey fonts have no
# degree sign, so there the text is split at "°" and a small ring drawn instead.
_NATIVE_DEGREE = hasattr(cv2, "FontFace")


def _parts(text: str) -> list[str]:
    return [text] if _NATIVE_DEGREE else text.split("°")


def _ring_width(s: Scale) -> int:
    return max(4, round(9 * s.font))


def _text_size(text: str, s: Scale) -> tuple[int, int, int]:
    """(width, height above baseline, depth below baseline) of text, degree rings included."""
    w, h, base = 0, 0, 0
    for k, part in enumerate(_parts(text)):
        if k:
            w += _ring_width(s)
        if part:
            (pw, ph), pb = cv2.getTextSize(part, _FONT, s.font, s.text_thickness)
            w, h, base = w + pw, max(h, ph), max(base, pb)
    if h == 0:
        (_, h), base = cv2.getTextSize("0", _FONT, s.font, s.text_thickness)
    return w, h, base


def _put_text(frame: np.ndarray, text: str, x: int, y: int, s: Scale, color: tuple[int, int, int]) -> None:
    """Text with its baseline at (x, y); callers put a darkened box behind it for contrast."""
    ring = _ring_width(s)
    (_, h), _ = cv2.getTextSize("0", _FONT, s.font, s.text_thickness)
    cx = x
    for k, part in enumerate(_parts(text)):
        if k:
            r = max(2, ring // 3)
            cv2.circle(frame, (cx + ring // 2, y - h + r), r, color, max(1, s.text_thickness - 1), cv2.LINE_AA)
            cx += ring
        if part:
            cv2.putText(frame, part, (cx, y), _FONT, s.font, color, s.text_thickness, cv2.LINE_AA)
            cx += cv2.getTextSize(part, _FONT, s.font, s.text_thickness)[0][0]


def _text_block(
    frame: np.ndarray,
    entries: Sequence[tuple[str, tuple[int, int, int]]],
    x: int,
    y: int,
    s: Scale,
    swatch: bool = False,
    align_right: bool = False,
) -> None:
    """Lines of text on a darkened box whose top-left (or top-right) corner is (x, y)."""
    sizes = [_text_size(t, s) for t, _ in entries]
    line_h = max(h + b for _, h, b in sizes) + s.pad
    sw = 3 * s.radius if swatch else 0
    width = max(w for w, _, _ in sizes) + sw + (s.pad if swatch else 0) + 2 * s.pad
    height = line_h * len(entries) + s.pad
    if align_right:
        x -= width
    _darken(frame, x, y, x + width, y + height)
    for k, ((text, color), (_, h, _)) in enumerate(zip(entries, sizes)):
        base_y = y + s.pad + k * line_h + h
        tx = x + s.pad
        if swatch:
            mid = base_y - h // 2
            cv2.line(frame, (tx, mid), (tx + sw, mid), _OUTLINE_BGR, s.line + 2, cv2.LINE_AA)
            cv2.line(frame, (tx, mid), (tx + sw, mid), color, s.line, cv2.LINE_AA)
            tx += sw + s.pad
        _put_text(frame, text, tx, base_y, s, _TEXT_BGR if swatch else color)


def draw_skeleton(
    frame: np.ndarray,
    xy: np.ndarray,
    visible: np.ndarray | None = None,
    *,
    legend: bool = True,
) -> np.ndarray:
    """Draw the body skeleton: the person's left side blue, right side orange.

    xy (33, 2) in pixels; a landmark is drawn only when finite and (if `visible` is given)
    visible, and an edge only when both ends are drawn, so gaps show as gaps rather than
    as lines to a guessed point. `legend` adds the colour key in the top-right corner.
    """
    _check_frame(frame)
    xy = _check_xy(xy)
    ok = _usable(xy, visible)
    s = Scale.for_frame(frame)
    drawn: set[int] = set()
    # Outline pass first, so a colour line is never hidden by another limb's outline.
    for thick, colored in ((s.line + 2, False), (s.line, True)):
        for a, b in SKELETON_EDGES:
            if ok[a] and ok[b]:
                col = _edge_color(a, b) if colored else _OUTLINE_BGR
                cv2.line(frame, _fixed(xy[a], frame), _fixed(xy[b], frame), col, thick, cv2.LINE_AA, _SHIFT)
                drawn.update((a, b))
    for i in sorted(drawn):
        side = _side_of(i)
        col = SIDE_COLORS_BGR[side] if side else _MIDLINE_BGR
        cv2.circle(frame, _fixed(xy[i], frame), s.radius * _ONE, _OUTLINE_BGR, -1, cv2.LINE_AA, _SHIFT)
        cv2.circle(frame, _fixed(xy[i], frame), (s.radius - 1) * _ONE, col, -1, cv2.LINE_AA, _SHIFT)
    if legend:
        draw_legend(frame)
    return frame


def draw_legend(frame: np.ndarray) -> np.ndarray:
    """Colour key in the top-right corner, naming the sides as the person's own."""
    _check_frame(frame)
    s = Scale.for_frame(frame)
    entries = [("person's left", SIDE_COLORS_BGR["left"]), ("person's right", SIDE_COLORS_BGR["right"])]
    _text_block(frame, entries, frame.shape[1] - s.pad, s.pad, s, swatch=True, align_right=True)
    return frame


def joint_label_texts(
    values: Mapping[str, float],
    withheld: Collection[str] = (),
    labels: Mapping[str, tuple[tuple[str, str], ...]] = JOINT_ANGLE_LABELS,
) -> dict[tuple[str, str], str]:
    """(side, joint) -> the text written beside that joint, e.g. "K 95° 3D".

    Per measure the 2D column, or its 3D estimate (marked "3D") where `withheld` lists the 2D
    one: the source the rep table uses (kinematics.support). A withheld, missing or NaN value
    is left out, so nothing the clip does not support is written.
    """
    out: dict[tuple[str, str], str] = {}
    for side in SIDES:
        for joint, entries in labels.items():
            parts = []
            for short, template in entries:
                name = template.format(side=side)
                estimate = name in withheld
                if estimate:
                    name = name.removesuffix("_deg") + "_3d_deg"
                value = values.get(name)
                if name in withheld or value is None or not np.isfinite(value):
                    continue
                parts.append(f"{short} {float(value):.0f}°" + (" 3D" if estimate else ""))
            if parts:
                out[(side, joint)] = "  ".join(parts)
    return out


def draw_joint_angles(
    frame: np.ndarray,
    xy: np.ndarray,
    values: Mapping[str, float],
    visible: np.ndarray | None = None,
    *,
    labels: Mapping[str, tuple[tuple[str, str], ...]] = JOINT_ANGLE_LABELS,
    withheld: Collection[str] = (),
) -> np.ndarray:
    """Write each side's hip/knee/ankle angle beside its joint, e.g. "K 87°" (`joint_label_texts`).

    `values` maps angle column names (docs/angles.md) to degrees for this frame, e.g. one row
    of an AngleSeries; `withheld` its withheld columns. NaN or missing values and unseen joints
    are skipped. A label goes on the outer side of its joint (away from the same joint of the
    other leg) when the two are clearly apart, as in a front view; otherwise left labels go
    image-left and right labels image-right, so the two legs' labels never overlap in a side view.
    """
    _check_frame(frame)
    xy = _check_xy(xy)
    ok = _usable(xy, visible)
    s = Scale.for_frame(frame)
    texts = joint_label_texts(values, withheld, labels)
    for side, other in (("left", "right"), ("right", "left")):
        default_dir = -1 if side == "left" else 1
        for joint in labels:
            text = texts.get((side, joint))
            if text is None:
                continue
            i = SIDE_LANDMARKS[side][joint]
            if not ok[i]:
                continue
            j = SIDE_LANDMARKS[other][joint]
            direction = default_dir
            dx = xy[i, 0] - xy[j, 0] if ok[j] else np.nan
            if np.isfinite(dx) and abs(dx) > 4 * s.radius + 2 * s.pad:
                direction = 1 if dx > 0 else -1
            w, h, base = _text_size(text, s)
            bw, bh = w + 2 * s.pad, h + base + 2 * s.pad
            jx, jy = int(round(xy[i, 0])), int(round(xy[i, 1]))
            gap = 2 * s.radius
            x0 = jx + gap if direction > 0 else jx - gap - bw
            y0 = jy - bh // 2
            _darken(frame, x0, y0, x0 + bw, y0 + bh)
            _put_text(frame, text, x0 + s.pad, y0 + s.pad + h, s, SIDE_COLORS_BGR[side])
    return frame


def draw_header(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """Lines of white text on a dark box in the top-left corner (time, rep count, warnings)."""
    _check_frame(frame)
    lines = [str(t) for t in lines if str(t)]
    if not lines:
        return frame
    s = Scale.for_frame(frame)
    _text_block(frame, [(t, _TEXT_BGR) for t in lines], s.pad, s.pad, s)
    return frame
