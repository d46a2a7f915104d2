"""Pinhole camera: placement around the subject, projection to pixels, OpenGL matrices.

Pixel coordinates are continuous with (0, 0) the top-left corner of the top-left pixel,
x right, y down (the convention of MediaPipe's normalised landmarks times width/height).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VIEW_AZIMUTH = {"front": 0.0, "oblique": 45.0, "side": 90.0, "back": 180.0}


@dataclass
class Camera:
    width: int
    height: int
    fov_h_deg: float
    position: np.ndarray
    target: np.ndarray
    near: float = 0.05
    far: float = 60.0

    @property
    def fx(self) -> float:
        return (self.width / 2) / np.tan(np.radians(self.fov_h_deg) / 2)

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.width / 2], [0, self.fx, self.height / 2], [0, 0, 1.0]])

    @property
    def R(self) -> np.ndarray:
        """World -> camera rotation (rows: right, down, forward), OpenCV convention."""
        f = self.target - self.position
        f = f / np.linalg.norm(f)
        r = np.cross(f, np.array([0.0, 1.0, 0.0]))
        r = r / np.linalg.norm(r)
        d = np.cross(f, r)
        return np.stack([r, d, f])

    @property
    def t(self) -> np.ndarray:
        return -self.R @ self.position

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        return pts @ self.R.T + self.t

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) -> pixels (..., 2) and depth along the optical axis (...)."""
        pc = self.to_camera(np.asarray(pts, dtype=float))
        z = pc[..., 2]
        uv = np.stack([self.fx * pc[..., 0] / z + self.width / 2,
                       self.fx * pc[..., 1] / z + self.height / 2], axis=-1)
        return uv, z

    def gl_view(self) -> np.ndarray:
        """World -> OpenGL eye coordinates (x right, y up, z backward)."""
        M = np.eye(4)
        flip = np.diag([1.0, -1.0, -1.0])
        M[:3, :3] = flip @ self.R
        M[:3, 3] = flip @ self.t
        return M

    def gl_proj(self) -> np.ndarray:
        n, f = self.near, self.far
        P = np.zeros((4, 4))
        P[0, 0] = self.fx / (self.width / 2)
        P[1, 1] = self.fx / (self.height / 2)
        P[2, 2] = -(f + n) / (f - n)
        P[2, 3] = -2 * f * n / (f - n)
        P[3, 2] = -1.0
        return P

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "fov_h_deg": self.fov_h_deg,
                "position": self.position.tolist(), "target": self.target.tolist(),
                "K": self.K.tolist(), "R": self.R.tolist(), "t": self.t.tolist()}


def make_camera(view: str = "side", *, width: int = 1280, height: int = 720, distance: float = 3.6,
                cam_height: float = 1.0, fov_h_deg: float = 62.0, target=(0.3, 0.85, 0.0),
                azimuth_deg: float | None = None) -> Camera:
    """A camera `distance` m from the target, at `cam_height` m, at an azimuth around the
    subject: 0 = in front (the person faces the camera), 90 = on the person's right side
    (the person faces image-right), 45 = front-right oblique."""
    az = np.radians(VIEW_AZIMUTH[view] if azimuth_deg is None else azimuth_deg)
    tgt = np.asarray(target, dtype=float)
    horiz = np.array([np.cos(az), 0.0, np.sin(az)])
    pos = tgt + horiz * distance
    pos[1] = cam_height
    return Camera(width=width, height=height, fov_h_deg=fov_h_deg, position=pos, target=tgt)
