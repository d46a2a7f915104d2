"""Floor scale from a printed ArUco marker lying on the floor.

Pure geometry: given the marker's four image corners (OpenCV order: top-left, top-right,
bottom-right, bottom-left of the printed marker) and its printed side in cm, a homography maps
any image point ON THE FLOOR to floor coordinates in cm (the marker's own axes, origin at its
top-left corner). Feet touch the floor, so foot points map to where they stand; a point above
the floor (a hovering toe) maps a little beyond it, away from the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FloorScale:
    size_cm: float
    corners_px: np.ndarray          # (4, 2) image corners of the marker
    homography: np.ndarray          # (3, 3) image px -> floor cm
    frames_used: int = 1

    def to_floor_cm(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) image points -> (..., 2) floor points in cm (NaN stays NaN)."""
        xy = np.asarray(xy, float)
        h = np.concatenate([xy, np.ones(xy.shape[:-1] + (1,))], axis=-1) @ self.homography.T
        with np.errstate(invalid="ignore", divide="ignore"):
            return h[..., :2] / h[..., 2:3]

    def cm_per_px(self) -> float:
        """Mean marker side in cm per image pixel at the marker (for a report, not for maths)."""
        c = self.corners_px
        side_px = np.mean([np.linalg.norm(c[i] - c[(i + 1) % 4]) for i in range(4)])
        return float(self.size_cm / side_px)

    def to_dict(self) -> dict:
        return {"method": "aruco_marker", "marker_size_cm": self.size_cm,
                "corners_px": np.round(self.corners_px, 2).tolist(), "frames_used": self.frames_used,
                "cm_per_px_at_marker": round(self.cm_per_px(), 4)}


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 H with dst ~ H @ src from 4+ point pairs (normalised DLT)."""
    src, dst = np.asarray(src, float), np.asarray(dst, float)

    def norm(p):
        c = p.mean(axis=0)
        s = np.sqrt(2) / np.mean(np.linalg.norm(p - c, axis=1))
        return np.array([[s, 0, -s * c[0]], [0, s, -s * c[1]], [0, 0, 1]])

    Ts, Td = norm(src), norm(dst)
    ps = np.c_[src, np.ones(len(src))] @ Ts.T
    pd = np.c_[dst, np.ones(len(dst))] @ Td.T
    rows = []
    for (x, y, _), (u, v, _) in zip(ps, pd):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    H = np.linalg.svd(np.asarray(rows))[2][-1].reshape(3, 3)
    H = np.linalg.inv(Td) @ H @ Ts
    return H / H[2, 2]


def floor_scale_from_corners(corners_px: np.ndarray, size_cm: float, frames_used: int = 1) -> FloorScale:
    """FloorScale from the marker's image corners (OpenCV order) and its printed side (cm)."""
    c = np.asarray(corners_px, float).reshape(4, 2)
    if not np.isfinite(c).all():
        raise ValueError("marker corners contain NaN")
    if size_cm <= 0:
        raise ValueError(f"marker size must be positive, got {size_cm} cm")
    square = np.array([[0, 0], [size_cm, 0], [size_cm, size_cm], [0, size_cm]], float)
    return FloorScale(float(size_cm), c, homography(c, square), frames_used)
