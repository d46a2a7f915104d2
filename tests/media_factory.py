"""Small media files made on the fly for input-handling tests (no binary fixtures in git)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def pattern(width: int, height: int, i: int) -> np.ndarray:
    """A frame whose top-left corner is white, so orientation can be checked after rotation."""
    img = np.full((height, width, 3), 40 + (i * 7) % 100, np.uint8)
    img[: height // 8, : width // 8] = 255
    return img


def write_video(
    path: Path,
    width: int = 320,
    height: int = 240,
    times_s: list[float] | None = None,
    rotation: int = 0,
    fps: int = 30,
) -> Path:
    """H.264 MP4 with frames at `times_s` (variable frame rate allowed) and optional rotation metadata."""
    times_s = times_s if times_s is not None else [i / fps for i in range(fps * 2)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for i, t in enumerate(times_s):
            frame = av.VideoFrame.from_ndarray(pattern(width, height, i), format="bgr24")
            frame.pts = int(round(t * 1000))
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        samples = (np.sin(np.linspace(0, 2000, 44100)) * 0.3).astype(np.float32)[None, :]
        for start in range(0, samples.shape[1] - 1024, 1024):
            frame = av.AudioFrame.from_ndarray(samples[:, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate = 44100
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_image(path: Path) -> Path:
    import cv2

    cv2.imwrite(str(path), pattern(320, 240, 0))
    return path
