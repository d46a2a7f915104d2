"""Reading video files: upright frames with the container's own timestamps.

PyAV (FFmpeg) rather than cv2.VideoCapture, because phone clips have variable frame rates
(the true time of each frame is its presentation timestamp, not index / fps) and rotation
metadata (portrait clips are stored sideways), and because decoding is how we tell a real
video from a renamed text file.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from formcheck.errors import InputFileError, VideoTooLongError, VideoTooShortError

log = logging.getLogger(__name__)

# Above this many pixels on the long side a frame is beyond what a phone records (8K and up).
MAX_LONG_SIDE = 4096


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int  # upright, after rotation
    height: int
    fps: float
    duration_s: float
    frame_count: int  # from the header; an estimate for variable frame rate
    rotation: int  # degrees counter-clockwise applied to make frames upright
    codec: str
    # The container's index counts the frames (MP4, MOV): a shortfall is frames lost to damage.
    frame_count_exact: bool = False

    @property
    def long_side(self) -> int:
        return max(self.width, self.height)


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise InputFileError(f"{path} does not exist.", "Check the path and try again.")
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not a video file.", "Give the path of a video file.")
    if path.stat().st_size == 0:
        raise InputFileError(f"{path.name} is empty (0 bytes).", "Record or export the clip again.")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InputFileError(
            f"{path.name} is not a video formcheck can read ({exc.__class__.__name__}).",
            "Use an MP4, MOV or WebM clip straight from a phone or camera.",
        ) from exc


def _rotation_of(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    """Rotation (multiple of 90°, counter-clockwise) from the first frame's display matrix."""
    try:
        for frame in container.decode(stream):
            return int(round((frame.rotation or 0) / 90.0)) * 90 % 360
    except av.error.FFmpegError as exc:
        raise InputFileError(
            f"{Path(container.name).name} could not be decoded: {exc}.",
            "The file may be truncated or corrupt; export the clip again.",
        ) from exc
    raise InputFileError(
        f"{Path(container.name).name} has a video track but no decodable frame.",
        "The file may be truncated; export the clip again.",
    )


def probe(path: str | Path, min_duration_s: float = 1.0, max_duration_s: float = 900.0) -> VideoInfo:
    """Read the header and decode one frame; raise a FormcheckError a user can act on."""
    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            raise InputFileError(
                f"{path.name} has no video track (audio only?).",
                "Upload the video itself, not an audio export.",
            )
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        exact = bool(stream.frames)
        frames = stream.frames or (int(round(duration * fps)) if fps else 0)
        raw_w, raw_h = stream.codec_context.width, stream.codec_context.height
        if max(raw_w, raw_h) > MAX_LONG_SIDE:
            raise InputFileError(
                f"{path.name} is {raw_w}x{raw_h}; formcheck reads up to {MAX_LONG_SIDE} px on the long side.",
                "Export the clip at 4K or lower (1080p is plenty).",
            )
        if min(raw_w, raw_h) < 64:
            raise InputFileError(
                f"{path.name} is only {raw_w}x{raw_h} pixels: too small to see a person.",
                "Record at 480p or more.",
            )
        if duration > max_duration_s:
            raise VideoTooLongError(
                f"{path.name} lasts {duration / 60:.1f} min; the limit is {max_duration_s / 60:.0f} min.",
                "Trim the clip to the sets you want checked.",
            )
        rotation = _rotation_of(container, stream)
    if fps <= 0 or frames <= 1:
        raise InputFileError(
            f"{path.name} is a still image, not a video.",
            "Record a video of the whole movement (at least a few seconds).",
        )
    if duration < min_duration_s:
        raise VideoTooShortError(
            f"{path.name} lasts {duration:.1f} s; at least {min_duration_s:.0f} s is needed.",
            "Record the whole movement, a few repetitions, with a second of standing before and after.",
        )
    width, height = (raw_h, raw_w) if rotation in (90, 270) else (raw_w, raw_h)
    return VideoInfo(path, width, height, fps, duration, frames, rotation, codec, frame_count_exact=exact)


@dataclass(frozen=True)
class Frame:
    index: int
    time_s: float
    # upright, HxWx3 uint8, RGB or BGR as asked; None for a frame decoded but not sampled
    image: np.ndarray | None


def shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Downscale a decoded frame. OpenCV's bilinear resize after FFmpeg's colour conversion is
    faster than FFmpeg's scaler doing both (bench/README.md, throughput.py). Area averaging from
    2x down, where bilinear would skip pixels and alias."""
    factor = image.shape[1] / width
    interpolation = cv2.INTER_AREA if factor >= 2 else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


YUV_TARGETS = {"rgb24": cv2.COLOR_YUV2RGB_I420, "bgr24": cv2.COLOR_YUV2BGR_I420}


def shrink_yuv420(i420: np.ndarray, width: int, height: int, pixel_format: str) -> np.ndarray:
    """Downscale a decoded 4:2:0 frame plane by plane, then convert the small frame to RGB/BGR:
    converting after scaling touches a third of the pixels of a 1080p -> 720p frame, about
    half the cost of converting first (bench/README.md, throughput.py). Limited-range BT.601,
    as FFmpeg's own conversion of untagged video."""
    h = i420.shape[0] * 2 // 3
    w = i420.shape[1]
    interpolation = cv2.INTER_AREA if w / width >= 2 else cv2.INTER_LINEAR
    y = cv2.resize(i420[:h], (width, height), interpolation=interpolation)
    chroma = i420[h:].reshape(2, h // 2, w // 2)
    u, v = (cv2.resize(plane, (width // 2, height // 2), interpolation=interpolation) for plane in chroma)
    small = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(height * 3 // 2, width)
    return cv2.cvtColor(small, YUV_TARGETS[pixel_format])


def on_sample_grid(time_s: float, fps: float, step: int) -> bool:
    """Whether the frame at `time_s` is one of every `step` frames of the clip's frame grid."""
    return step <= 1 or round(time_s * (fps or 30.0)) % step == 0


def iter_frames(
    info: VideoInfo,
    *,
    pixel_format: str = "rgb24",
    max_long_side: int | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
    sample_step: int = 1,
) -> Iterator[Frame]:
    """Decode upright frames in [start_s, end_s) with their presentation times in seconds.

    Undecodable packets mid-stream are skipped (logged), so one corrupt frame does not lose
    the clip. Timestamps are made strictly increasing, which MediaPipe's VIDEO mode requires.
    With `sample_step` n > 1 only every n-th frame of the clip's frame grid (its time times
    the nominal rate, so chunks decoded from different starts pick the same frames) is
    converted; the others come with `image` None: decoding them is unavoidable (the next
    frames depend on them), converting and scaling them is not.
    """
    scale = 1.0
    if max_long_side and info.long_side > max_long_side:
        scale = max_long_side / info.long_side
    with _open(info.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        raw_w, raw_h = stream.codec_context.width, stream.codec_context.height
        out_w = max(2, int(round(raw_w * scale / 2)) * 2)
        out_h = max(2, int(round(raw_h * scale / 2)) * 2)
        if start_s > 0 and stream.time_base is not None:
            container.seek(int(start_s / stream.time_base), stream=stream, backward=True, any_frame=False)
        k = info.rotation // 90
        index = 0
        last_t = -np.inf
        fallback_dt = 1.0 / info.fps if info.fps else 1.0 / 30
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as exc:
                log.warning("skipping an undecodable packet in %s: %s", info.path.name, exc)
                continue
            for frame in decoded:
                t = float(frame.time) if frame.time is not None else last_t + fallback_dt
                if t < start_s - 1e-6:
                    continue
                if end_s is not None and t >= end_s - 1e-6:
                    return
                if t <= last_t:
                    t = last_t + 1e-3
                last_t = t
                if not on_sample_grid(t, info.fps, sample_step):
                    yield Frame(index, t, None)
                    index += 1
                    continue
                if scale != 1.0 and frame.format.name == "yuv420p" and pixel_format in YUV_TARGETS \
                        and not (raw_w % 2 or raw_h % 2):
                    image = shrink_yuv420(frame.to_ndarray(format="yuv420p"), out_w, out_h, pixel_format)
                else:
                    image = frame.to_ndarray(format=pixel_format)
                    if scale != 1.0:
                        image = shrink(image, out_w, out_h)
                # PyAV returns a strided view when rows are padded; consumers (MediaPipe,
                # the encoder) need contiguous rows.
                upright = np.ascontiguousarray(np.rot90(image, k) if k else image)
                yield Frame(index, t, upright)
                index += 1


def read_ahead(frames: Iterator[Frame], depth: int = 4) -> Iterator[Frame]:
    """Decode in a background thread while the caller works on the previous frames.

    FFmpeg decoding and scaling release the GIL, so decode overlaps with inference or
    encoding. At most `depth` frames wait in the queue: memory stays bounded whatever the
    clip length. A decoding error is raised in the caller, at the frame where it happened.
    """
    slots: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        slots.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: object = done
        except BaseException as exc:  # handed to the consumer, raised there
            item = exc
        finally:
            close = getattr(frames, "close", None)
            if close is not None:  # releases the container even when the consumer stopped early
                close()
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    worker = threading.Thread(target=produce, name="formcheck-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
