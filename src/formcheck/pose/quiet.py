"""Keep MediaPipe's native start-up log off the terminal unless asked for (`formcheck -v`).

mediapipe 1.2's C++ (LiteRT, TFLite, absl before InitGoogle) writes 50-100 INFO/WARNING lines
straight to file descriptor 2 when a landmarker is created, at its first inference, at the
first pose found and at close, and ignores GLOG_minloglevel, GLOG_stderrthreshold,
GOOGLE_STDERRTHRESHOLD and TF_CPP_MIN_LOG_LEVEL (all tried). So during those native calls fd 2
points at a temporary file; afterwards everything in it that is not such a line (a Python
warning from another thread, a native error) goes to the real stderr, and all of it does
when the call failed. Python's own stderr is never hidden, only delayed by the call.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# "1" shows the native logs; set by `formcheck -v` and inherited by the pose worker processes.
NATIVE_LOGS_ENV = "FORMCHECK_NATIVE_LOGS"

# LiteRT/TFLite "INFO: [environment.cc:36] ..." and absl "W0000 00:00:... file.cc:1433] ..." lines
# (INFO and WARNING only: errors stay visible).
NATIVE_CHATTER = re.compile(rb"(INFO|WARNING): |[IW]\d{4} [\d:.]+ +\d+ [\w.]+\.cc:\d+\] ")


def native_logs_shown() -> bool:
    return os.environ.get(NATIVE_LOGS_ENV) == "1"


class _Fd2Capture:
    """fd 2 into a temporary file while any window is open: windows of several threads (live
    sessions of the service) overlap, so the first one opens the capture and the last closes it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open_windows = 0
        self.saved_fd = -1
        self.file: Any = None
        self.failed = False

    def enter(self) -> None:
        with self.lock:
            if not self.open_windows:
                _flush_python_stderr()
                self.file = tempfile.TemporaryFile()
                self.saved_fd = os.dup(2)
                os.dup2(self.file.fileno(), 2)
                self.failed = False
            self.open_windows += 1

    def leave(self, failed: bool) -> None:
        with self.lock:
            self.failed |= failed
            self.open_windows -= 1
            if self.open_windows:
                return
            _flush_python_stderr()
            os.dup2(self.saved_fd, 2)
            os.close(self.saved_fd)
            self.file.seek(0)
            lines = self.file.read().splitlines(keepends=True)
            self.file.close()
            keep = b"".join(line for line in lines if self.failed or not NATIVE_CHATTER.match(line))
        if keep:
            with open(2, "wb", closefd=False) as stderr:
                stderr.write(keep)


def _flush_python_stderr() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        if stream is not None:
            stream.flush()


_capture = _Fd2Capture()


@contextmanager
def quiet_native_logs() -> Iterator[None]:
    """The native INFO/WARNING lines written to fd 2 inside the block are dropped."""
    if native_logs_shown():
        yield
        return
    _capture.enter()
    failed = True
    try:
        yield
        failed = False
    finally:
        _capture.leave(failed)


class QuietLandmarker:
    """A PoseLandmarker whose native start-up log is hidden: created, closed, and run until it
    has found its first pose, inside `quiet_native_logs`. Per landmarker, not per process: each
    one's inference runner warns at its own first inferences (an input buffer LiteRT finds
    misaligned, which depends on where the frame landed in memory), e.g. the people scanner's
    after the tracker has long found its pose."""

    def __init__(self, create: Callable[[], Any]) -> None:
        """`create` makes the PoseLandmarker, inside the quiet window."""
        self._started = False  # this landmarker has found a pose
        with quiet_native_logs():
            self._landmarker = create()

    def _run(self, method: Callable, *args):
        if self._started:
            return method(*args)
        with quiet_native_logs():
            result = method(*args)
        if result.pose_landmarks:
            self._started = True
        return result

    def detect(self, image):
        return self._run(self._landmarker.detect, image)

    def detect_for_video(self, image, timestamp_ms: int):
        return self._run(self._landmarker.detect_for_video, image, timestamp_ms)

    def close(self) -> None:
        with quiet_native_logs():
            self._landmarker.close()

    def __enter__(self) -> QuietLandmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
