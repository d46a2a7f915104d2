"""What a person looks like: clothing colour at a few body regions, read off the frame.

Boxes link a person from frame to frame, but not across a cut, a cross-fade, an occlusion
longer than a moment or a walk out of frame and back. Clothing is what tells the same person
again: the colour of the torso, thighs and shanks does not change between takes, whereas
two people in one gym rarely wear the same colours on all of them. Each region is the mean
colour of small patches along a body segment, in CIELAB (a distance there is close to a
perceived colour difference). Pure numpy + OpenCV on an image array: tested with painted
images.
"""

from __future__ import annotations

import cv2
import numpy as np

from formcheck import landmarks as LM

# Body regions: (segment start landmarks, segment end landmarks); both sides' segments are
# pooled, since left/right labels swap and trousers and sleeves are symmetric anyway.
REGIONS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "torso": ((LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER), (LM.LEFT_HIP, LM.RIGHT_HIP)),
    "thigh": ((LM.LEFT_HIP, LM.RIGHT_HIP), (LM.LEFT_KNEE, LM.RIGHT_KNEE)),
    "shank": ((LM.LEFT_KNEE, LM.RIGHT_KNEE), (LM.LEFT_ANKLE, LM.RIGHT_ANKLE)),
    "upper_arm": ((LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER), (LM.LEFT_ELBOW, LM.RIGHT_ELBOW)),
}
REGION_NAMES = tuple(REGIONS)
# Points sampled along each segment (fractions of its length): away from the joints, where
# a patch would catch the background beside a bent limb.
ALONG = (0.35, 0.5, 0.65)
# Patch half-size as a share of the torso length: a few percent stays inside a limb.
PATCH_FRACTION = 0.04
# Below this visibility the model guesses where a landmark is: no colour read there.
MIN_VISIBILITY = 0.5
# Lightness counts half in the distance: one person's take under a different lamp or
# exposure changes L* far more than hue and saturation (a*, b*).
LIGHTNESS_WEIGHT = 0.5


def _segments(xy: np.ndarray, vis: np.ndarray, region: str) -> list[tuple[np.ndarray, np.ndarray]]:
    starts, ends = REGIONS[region]
    if region == "torso":  # one segment: shoulder centre to hip centre
        if (vis[list(starts + ends)] < MIN_VISIBILITY).any():
            return []
        return [(xy[list(starts)].mean(axis=0), xy[list(ends)].mean(axis=0))]
    return [(xy[a], xy[b]) for a, b in zip(starts, ends) if min(vis[a], vis[b]) >= MIN_VISIBILITY]


def describe(image: np.ndarray, image_xy: np.ndarray, visibility: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(len(REGIONS), 3) CIELAB colour per region (NaN where the region is not seen).

    image: RGB uint8 (H, W, 3); image_xy: (33, 2) landmark pixels in the frame the
    detection is expressed in; scale: image pixels per landmark pixel (the decoded frame
    may be shrunk for inference).
    """
    h, w = image.shape[:2]
    xy = np.asarray(image_xy, float) * scale
    out = np.full((len(REGIONS), 3), np.nan)
    if not np.isfinite(xy).all():
        return out
    shoulders = xy[[LM.LEFT_SHOULDER, LM.RIGHT_SHOULDER]].mean(axis=0)
    hips = xy[[LM.LEFT_HIP, LM.RIGHT_HIP]].mean(axis=0)
    half = max(1, int(round(PATCH_FRACTION * float(np.linalg.norm(shoulders - hips)))))
    means = []
    for k, region in enumerate(REGIONS):
        pixels = []
        for a, b in _segments(xy, visibility, region):
            for f in ALONG:
                cx, cy = (a + f * (b - a)).round().astype(int)
                if half <= cx < w - half and half <= cy < h - half:
                    pixels.append(image[cy - half:cy + half + 1, cx - half:cx + half + 1].reshape(-1, 3))
        if pixels:
            means.append((k, np.concatenate(pixels).mean(axis=0)))
    if means:
        rgb = np.array([m for _, m in means], np.float32).reshape(-1, 1, 3) / 255.0
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3)
        for (k, _), colour in zip(means, lab):
            out[k] = colour
    return out


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Median colour difference over the regions both descriptors saw (NaN if fewer than two:
    one region alone, e.g. a grey shirt, tells too little)."""
    both = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    if both.sum() < 2:
        return float("nan")
    d = a[both] - b[both]
    d[:, 0] *= LIGHTNESS_WEIGHT
    return float(np.median(np.linalg.norm(d, axis=1)))


def summarise(descriptors: list[np.ndarray]) -> np.ndarray:
    """One descriptor for many frames of a person: the per-region median (NaN where unseen)."""
    if not descriptors:
        return np.full((len(REGIONS), 3), np.nan)
    stack = np.stack(descriptors)
    out = np.full(stack.shape[1:], np.nan)
    seen = np.isfinite(stack).all(axis=2)
    for k in range(stack.shape[1]):
        if seen[:, k].any():
            out[k] = np.median(stack[seen[:, k], k], axis=0)
    return out
