"""Decoded frames kept on disk for the annotated video, so a clip is decoded only once.

The annotated video shows the cleaned skeleton, which exists only once the whole clip has been
through the pose model and kinematics; decoding the clip again for it costs about as much as
drawing and encoding (a 1080p H.264 frame: ~3 ms to decode, ~4 ms to convert and scale). So
while the pose stage decodes, each frame is also written here at the annotated video's size as
raw 4:2:0 (1.5 bytes a pixel: 1.4 MB a 720p frame, written to and read back from the page
cache), each pose process its own part of the clip; the video writer reads the parts in order.
A clip whose frames would take more than the budget is decoded again instead.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from formcheck.sources import Frame, VideoInfo


@dataclass(frozen=True)
class FrameSpool:
    """Where the frames go and their size (even, for 4:2:0): picklable, handed to pose processes."""

    folder: Path
    width: int
    height: int

    @classmethod
    def plan(cls, info: VideoInfo, folder: Path, long_side: int, budget_mb: float) -> FrameSpool | None:
        """A spool for `info`'s frames at `long_side`, or None when they exceed `budget_mb`."""
        scale = min(1.0, long_side / info.long_side)
        width = max(2, int(round(info.width * scale / 2)) * 2)
        height = max(2, int(round(info.height * scale / 2)) * 2)  # info's sizes are the upright frame's
        frames = max(info.frame_count, int(info.duration_s * (info.fps or 30.0)) + 1)
        needed = frames * width * height * 1.5
        if needed > budget_mb * 2**20 or needed > 0.5 * shutil.disk_usage(folder).free:
            return None
        return cls(Path(folder), width, height)

    def part(self, index: int) -> SpoolPart:
        return SpoolPart(self, index)

    def frame_count(self) -> int:
        """Frames kept so far (parts closed by their writers)."""
        return sum(len(np.load(f)) for f in self.folder.glob("part-*.times.npy"))

    def frames(self) -> Iterator[Frame]:
        """Every spooled frame in time order, BGR, as `sources.iter_frames(pixel_format="bgr24")`."""
        size = self.width * self.height * 3 // 2
        index = 0
        for times_file in sorted(self.folder.glob("part-*.times.npy")):
            times = np.load(times_file)
            with open(times_file.with_name(times_file.name.replace(".times.npy", ".yuv")), "rb") as fh:
                for t in times:
                    yuv = np.frombuffer(fh.read(size), np.uint8)
                    if yuv.size < size:
                        raise OSError(f"spooled frames in {self.folder} are truncated")
                    bgr = cv2.cvtColor(yuv.reshape(self.height * 3 // 2, self.width), cv2.COLOR_YUV2BGR_I420)
                    yield Frame(index, float(t), bgr)
                    index += 1


class SpoolPart:
    """One pose process's frames: `add` RGB frames in time order, then close."""

    def __init__(self, spool: FrameSpool, index: int) -> None:
        self.spool = spool
        self.path = spool.folder / f"part-{index:04d}.yuv"
        self.times: list[float] = []
        self._file = open(self.path, "wb")  # closed by close()/__exit__

    def add(self, time_s: float, rgb: np.ndarray) -> None:
        size = (self.spool.width, self.spool.height)
        if (rgb.shape[1], rgb.shape[0]) != size:
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        self._file.write(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420).tobytes())
        self.times.append(time_s)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
            np.save(self.path.with_name(self.path.name.replace(".yuv", ".times.npy")), np.asarray(self.times))

    def __enter__(self) -> SpoolPart:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
