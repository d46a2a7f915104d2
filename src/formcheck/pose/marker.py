"""Find a printed ArUco marker on the floor in the first frames of a clip (OpenCV's aruco
module, from the opencv-contrib-python that mediapipe installs) and turn it into a FloorScale.

The camera does not move, so the marker's corners are the median over the frames where it
is found (the subject may step over it later)."""

from __future__ import annotations

import numpy as np

from formcheck.kinematics.scale import FloorScale, floor_scale_from_corners
from formcheck.sources import VideoInfo, iter_frames

DICTIONARY = "DICT_4X4_50"


def detect_marker_corners(gray: np.ndarray, dictionary: str = DICTIONARY,
                          marker_id: int | None = 0) -> np.ndarray | None:
    """(4, 2) sub-pixel corners of the marker (the given id, or the first one found) or None."""
    import cv2

    d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary))
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    corners, ids, _ = cv2.aruco.ArucoDetector(d, params).detectMarkers(gray)
    if ids is None:
        return None
    for c, i in zip(corners, ids.ravel()):
        if marker_id is None or int(i) == marker_id:
            return np.asarray(c, float).reshape(4, 2)
    return None


def find_floor_marker(info: VideoInfo, size_cm: float, max_frames: int = 30, step: int = 3,
                      marker_id: int | None = 0) -> FloorScale | None:
    """FloorScale from every `step`-th of the first `max_frames` frames, or None if not seen."""
    found = []
    for k, frame in enumerate(iter_frames(info, pixel_format="gray")):
        if k >= max_frames:
            break
        if k % step:
            continue
        c = detect_marker_corners(np.asarray(frame.image), marker_id=marker_id)
        if c is not None:
            found.append(c)
    if not found:
        return None
    return floor_scale_from_corners(np.median(np.stack(found), axis=0), size_cm, len(found))
