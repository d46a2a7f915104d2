"""MP4 writing that browsers play, and a probe to check what was written.

Chromium plays H.264 in yuv420p only; libx264 needs even dimensions for 4:2:0 chroma; and
without `+faststart` the index (moov atom) sits at the end of the file, so a browser must
download everything before it can start or seek. Each frame keeps the timestamp it had in
the source: phones record variable frame rate, and re-timing to a constant rate would make
the video drift against the angle plots and CSV, which use the source times.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import cv2
import numpy as np

# 90 kHz is the MPEG clock: fine enough for any camera timestamp (0.011 ms ticks).
TIME_BASE = Fraction(1, 90_000)


class VideoSink:
    """Write BGR frames to an H.264/yuv420p MP4 with the source's own timestamps.

    >>> with VideoSink("out.mp4", width, height, fps_hint=30) as sink:
    ...     sink.write(frame_bgr, time_s)

    `fps_hint` only tunes the encoder (rate control, keyframe spacing: one every ~2 s so
    seeking stays quick); the frame times come from `write`. An odd width or height is padded
    by one replicated pixel row/column. A timestamp not after the previous one is moved one
    tick (1/90000 s) later, so the file stays valid; `adjusted_timestamps` counts those.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        width: int,
        height: int,
        fps_hint: float = 30.0,
        *,
        crf: int = 20,
        preset: str = "veryfast",
    ) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"invalid frame size {width}x{height}")
        self.path = Path(path)
        self.width, self.height = int(width), int(height)
        self.out_width, self.out_height = self.width + self.width % 2, self.height + self.height % 2
        self.fps_hint = float(fps_hint) if fps_hint and fps_hint > 0 else 30.0
        self.frames_written = 0
        self.adjusted_timestamps = 0
        self._last_pts: int | None = None
        self._durations: dict[int, int] = {}
        self._pending: tuple[av.VideoFrame, int] | None = None

        container = av.open(str(self.path), "w", format="mp4", options={"movflags": "+faststart"})
        self._container: av.container.OutputContainer | None = container  # None once closed
        rate = Fraction(self.fps_hint).limit_denominator(1001)
        stream = container.add_stream(
            "libx264", rate=rate, options={"crf": str(crf), "preset": preset}
        )
        stream.width, stream.height, stream.pix_fmt = self.out_width, self.out_height, "yuv420p"
        stream.time_base = TIME_BASE
        cc = stream.codec_context
        cc.time_base = TIME_BASE
        cc.gop_size = max(1, round(2 * self.fps_hint))
        # Tag what `write` converts with (OpenCV: BT.601 matrix, limited range), so players
        # decode the colours as drawn; primaries and transfer stay BT.709, like camera video.
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 6, 1, 1, 1
        self._stream = stream

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, frame_bgr: np.ndarray, time_s: float) -> None:
        """Encode one BGR uint8 frame (height, width, 3) shown from `time_s` seconds."""
        if self._container is None:
            raise RuntimeError("VideoSink is closed")
        frame_bgr = np.asarray(frame_bgr)
        if frame_bgr.shape != (self.height, self.width, 3) or frame_bgr.dtype != np.uint8:
            raise ValueError(
                f"expected a uint8 frame of shape {(self.height, self.width, 3)}, "
                f"got {frame_bgr.dtype} {frame_bgr.shape}"
            )
        if not np.isfinite(time_s):
            raise ValueError(f"frame time must be finite, got {time_s}")
        if (self.out_width, self.out_height) != (self.width, self.height):
            frame_bgr = np.pad(
                frame_bgr, ((0, self.out_height - self.height), (0, self.out_width - self.width), (0, 0)), mode="edge"
            )
        pts = round(float(time_s) / TIME_BASE)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
            self.adjusted_timestamps += 1
        self._last_pts = pts

        # OpenCV converts to 4:2:0 much faster than FFmpeg's scaler (bench/README.md, throughput.py).
        yuv: np.ndarray = cv2.cvtColor(np.ascontiguousarray(frame_bgr), cv2.COLOR_BGR2YUV_I420)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts, frame.time_base = pts, TIME_BASE
        # A frame lasts until the next one starts, so each is encoded one write later.
        if self._pending is not None:
            prev, prev_pts = self._pending
            self._encode(prev, prev_pts, pts - prev_pts)
        self._pending = (frame, pts)
        self.frames_written += 1

    def _encode(self, frame: av.VideoFrame | None, pts: int | None, duration: int | None) -> None:
        if frame is not None and pts is not None and duration is not None:
            self._durations[pts] = duration
        for packet in self._stream.encode(frame):
            # The encoder reorders frames (B-frames); match durations by presentation time.
            if packet.pts is not None and packet.pts in self._durations:
                packet.duration = self._durations.pop(packet.pts)
            assert self._container is not None  # encoding happens before close() ends
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file (the faststart rewrite happens here)."""
        if self._container is None:
            return
        try:
            if self._pending is not None:
                frame, pts = self._pending
                self._encode(frame, pts, self._last_duration())
                self._pending = None
            self._encode(None, None, None)
        finally:
            self._container.close()
            self._container = None

    def _last_duration(self) -> int:
        """The last frame has no successor: give it the typical frame interval."""
        if len(self._durations) >= 1:
            return int(np.median(list(self._durations.values())))
        return max(1, round(1 / (self.fps_hint * TIME_BASE)))


def probe_codec(path: str | os.PathLike[str]) -> dict[str, object]:
    """Codec facts of the first video stream: codec, pix_fmt, width, height, frames, duration.

    `frames` counts demuxed packets (no decode), `duration` is seconds from the container.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        cc = stream.codec_context
        info: dict[str, object] = {
            "codec": cc.name,
            "pix_fmt": cc.pix_fmt,
            "width": cc.width,
            "height": cc.height,
            "profile": cc.profile,
            "time_base": str(stream.time_base),
        }
        frames = sum(1 for p in container.demux(stream) if p.size > 0)
        info["frames"] = frames
        if container.duration is not None:
            info["duration"] = container.duration / av.time_base
        elif stream.duration is not None and stream.time_base is not None:
            info["duration"] = float(stream.duration * stream.time_base)
        else:
            info["duration"] = None
    return info


def top_level_boxes(path: str | os.PathLike[str]) -> list[str]:
    """Names of the MP4's top-level boxes in file order, e.g. ['ftyp', 'moov', 'mdat']."""
    names: list[str] = []
    with open(path, "rb") as f:
        size_total = os.fstat(f.fileno()).st_size
        pos = 0
        while pos + 8 <= size_total:
            f.seek(pos)
            header = f.read(16)
            size = int.from_bytes(header[:4], "big")
            names.append(header[4:8].decode("latin-1"))
            if size == 1:  # 64-bit size follows
                size = int.from_bytes(header[8:16], "big")
            elif size == 0:  # box runs to the end of the file
                break
            if size < 8:
                break
            pos += size
    return names


def is_faststart(path: str | os.PathLike[str]) -> bool:
    """True when the moov index precedes the media data, so browsers can stream and seek."""
    boxes = top_level_boxes(path)
    return "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")
