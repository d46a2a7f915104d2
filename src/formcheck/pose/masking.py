"""Hide people from the pose model, so it finds the one it would otherwise miss.

MediaPipe's person detector returns the dominant person in a frame and misses a smaller one
beside them: with a presenter in the foreground, the athlete behind was not found in any
frame, however many poses were asked for. Painting over the people already found makes the
detector look again (pose/landmarker.py's people scan), and painting over everyone but the
chosen subject lets the video tracker follow the subject (the second pass). Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Boxes are grown by this share of their size: landmark boxes end at the joints, the body
# (hair, shoes, clothing) reaches a little beyond.
BOX_MARGIN = 0.12


def grow(box: np.ndarray, margin: float = BOX_MARGIN) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    return np.array([box[0] - margin * w, box[1] - margin * h, box[2] + margin * w, box[3] + margin * h])


def covered_by(box: np.ndarray, cover: np.ndarray) -> float:
    """Share of `box`'s area inside `cover` (boxes x0, y0, x1, y1)."""
    w = max(0.0, min(box[2], cover[2]) - max(box[0], cover[0]))
    h = max(0.0, min(box[3], cover[3]) - max(box[1], cover[1]))
    area = (box[2] - box[0]) * (box[3] - box[1])
    return float(w * h / area) if area > 0 else 1.0


def paint_over(image: np.ndarray, boxes: list[np.ndarray], keep: Sequence[np.ndarray] = (),
               scale: float = 1.0) -> np.ndarray:
    """A copy of `image` with `boxes` (grown, in landmark pixels x scale) filled with the
    image's mean colour, except where a `keep` box lies (the subject stays whole)."""
    h, w = image.shape[:2]
    mask = np.zeros((h, w), bool)

    def region(box: np.ndarray) -> tuple[slice, slice]:
        x0, y0, x1, y1 = np.clip(np.round(grow(box) * scale), 0, [w, h, w, h]).astype(int)
        return slice(y0, y1), slice(x0, x1)

    for box in boxes:
        mask[region(box)] = True
    for box in keep:
        mask[region(box)] = False
    out = image.copy()
    out[mask] = image.reshape(-1, image.shape[2]).mean(axis=0).astype(image.dtype)
    return out


@dataclass
class MaskPlan:
    """Per frame time: the boxes to paint over and the subject's box to keep (NaN: none known).

    Built from a first pass (the people to hide) and the scan that found the subject, whose
    box between scans is interpolated so the paint never covers them."""

    times: np.ndarray  # (T,)
    hide: list[np.ndarray]  # per frame (n, 4) boxes
    keep: np.ndarray  # (T, 4), NaN where the subject's box is unknown

    def apply(self, image: np.ndarray, time_s: float, scale: float) -> np.ndarray:
        if not len(self.times):
            return image
        i = int(np.argmin(np.abs(self.times - time_s)))
        if not len(self.hide[i]):
            return image
        keep = [self.keep[i]] if np.isfinite(self.keep[i]).all() else []
        return paint_over(image, list(self.hide[i]), keep, scale)


def interpolate_boxes(times: np.ndarray, known_times: np.ndarray, known_boxes: np.ndarray) -> np.ndarray:
    """(T, 4) boxes at `times` from boxes seen at `known_times` (linear between them, held at
    the ends); all NaN when none is known."""
    out = np.full((len(times), 4), np.nan)
    if not len(known_times):
        return out
    order = np.argsort(known_times)
    for k in range(4):
        out[:, k] = np.interp(times, known_times[order], known_boxes[order, k])
    return out
