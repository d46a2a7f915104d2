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


# -- the bad-input corpus (issue #6): clips made from real ones or from nothing ----------------

def read_frames(src: Path, end_s: float, height: int) -> list[np.ndarray]:
    """Upright RGB frames of the first `end_s` seconds of `src`, scaled to `height` (even width)."""
    frames = []
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        width = int(round(stream.codec_context.width * height / stream.codec_context.height / 2)) * 2
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= end_s:
                break
            frames.append(frame.to_ndarray(format="rgb24", width=width, height=height))
    return frames


def write_frames(
    path: Path,
    frames: list[np.ndarray],
    fps: int = 30,
    times_s: list[float] | None = None,
    rotation: int = 0,
    faststart: bool = False,
    codec: str = "libx264",
) -> Path:
    """H.264 MP4 of RGB frames at `times_s` (default i / fps); optional rotation metadata and
    `faststart` (the index first, as phones and web exports write it, so a cut file stays readable)."""
    times_s = times_s if times_s is not None else [i / fps for i in range(len(frames))]
    height, width = frames[0].shape[:2]
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p" if codec == "libx264" else "yuvj420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for image, t in zip(frames, times_s):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts, frame.time_base = int(round(t * 1000)), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def side_by_side(left: list[np.ndarray], right: list[np.ndarray]) -> list[np.ndarray]:
    """Two people in one frame: two clips of the same height next to each other."""
    return [np.concatenate([a, b], axis=1) for a, b in zip(left, right)]


def blank_frames(like: np.ndarray, n: int, seed: int = 0) -> list[np.ndarray]:
    """An empty scene (grey with sensor-like noise) the size of `like`."""
    rng = np.random.default_rng(seed)
    return [np.clip(rng.normal(110, 6, like.shape), 0, 255).astype(np.uint8) for _ in range(n)]


def corrupt_middle(path: Path, fraction: float = 0.5, length: int = 4096, seed: int = 1) -> Path:
    """Overwrite `length` bytes at `fraction` of the file with noise: damaged frames mid-stream."""
    data = bytearray(path.read_bytes())
    at = int(len(data) * fraction)
    data[at : at + length] = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path

