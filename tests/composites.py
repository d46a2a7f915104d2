"""Clips assembled at test time from the real shared clips (never copied into the project):
a presenter in the foreground beside the athlete, one person across edited takes, and two
people one after the other. Each returns what the test needs to know about who is where.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


def read_frames(path: Path) -> tuple[list[np.ndarray], float]:
    """All frames (RGB) and the frame rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)], fps


def write_frames(path: Path, frames: Iterator[np.ndarray] | list[np.ndarray], fps: float) -> Path:
    with av.open(str(path), "w") as container:
        stream = None
        for img in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(round(fps * 1000), 1000))
                stream.height, stream.width = img.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": "20", "preset": "veryfast"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path


def _fit(img: np.ndarray, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(img, (max(2, round(w * height / h)), height), interpolation=cv2.INTER_AREA)


def presenter_in_front(samples: Path, out: Path) -> tuple[Path, tuple[float, float]]:
    """The banded step-up athlete, smaller, on the right; a man standing and swaying a little
    (the goblet-squat man's standing frames), larger and cut at the shins, on the left — as
    in the uncropped original, where a presenter stands in the foreground.
    Returns the clip and a point (fractions of the frame) on the athlete."""
    athlete, fps = read_frames(samples / "videos" / "stepup_side_02_cropped.mp4")
    standing, _ = read_frames(samples / "videos" / "squat_goblet_front_01.mp4")
    presenter = [img[120:720, 430:870] for img in standing[:12]]  # standing, before the first squat
    width, height = 1280, 720
    frames = []
    for i, img in enumerate(athlete):
        canvas = np.full((height, width, 3), 90, np.uint8)
        a = _fit(img, 560)
        canvas[140:140 + a.shape[0], 820:820 + a.shape[1]] = a[:, : width - 820]
        p = _fit(presenter[abs((i // 3) % 22 - 11)], 900)[:height]  # sway back and forth; shins cut off
        canvas[:, 60:60 + p.shape[1]] = p[:, : width - 60][:height]
        frames.append(canvas)
    athlete_x = 820 + 0.25 * _fit(athlete[0], 560).shape[1]  # he stands in the left half of his clip
    return write_frames(out, frames, fps), (athlete_x / width, 0.55)


def edited_takes(samples: Path, out: Path) -> tuple[Path, float]:
    """The reverse-lunge woman in three takes: as filmed; re-framed (zoomed and shifted, a
    second camera); a cut to black between them, then a cross-fade into the third take.
    Returns the clip and its duration (s)."""
    frames, fps = read_frames(samples / "videos" / "lunge_reverse_front_01.mp4")
    h, w = frames[0].shape[:2]
    take = round(5 * fps)

    def reframe(img: np.ndarray) -> np.ndarray:
        zoom = cv2.resize(img, None, fx=1.25, fy=1.25, interpolation=cv2.INTER_LINEAR)
        return zoom[int(0.2 * h) - 40:int(0.2 * h) - 40 + h, int(0.1 * w):int(0.1 * w) + w]

    black = np.zeros_like(frames[0])
    fade = round(0.5 * fps)
    first, second, third = frames[:take], [reframe(f) for f in frames[take:2 * take]], frames[2 * take:3 * take]
    crossfade = [
        cv2.addWeighted(second[len(second) - fade + k], 1 - (k + 1) / (fade + 1), third[k], (k + 1) / (fade + 1), 0)
        for k in range(fade)
    ]
    clip = first + [black] * round(0.8 * fps) + second[:-fade] + crossfade + third[fade:]
    write_frames(out, clip, fps)
    return out, len(clip) / fps


def two_people_in_turn(samples: Path, out: Path) -> Path:
    """The reverse-lunge woman, a cut, then the goblet-squat man: two different people."""
    woman, fps = read_frames(samples / "videos" / "lunge_reverse_front_01.mp4")
    man, _ = read_frames(samples / "videos" / "squat_goblet_front_01.mp4")
    h, w = woman[0].shape[:2]
    man = [cv2.resize(img[60:720, 420:790], (w, h), interpolation=cv2.INTER_AREA) for img in man]
    return write_frames(out, woman[: round(5 * fps)] + man[: round(5 * fps)], fps)
