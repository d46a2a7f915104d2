"""Run the chunks of one clip (pose/chunks.py) in parallel processes, one landmarker each.

Processes, not threads: a landmarker keeps one core busy and holds its own graph state.
They are started with "spawn" (the caller may have threads: the service, the decode
read-ahead), stream their frames from the file themselves (nothing clip-sized crosses a
process boundary but the landmarks), and report progress and results on one queue. A
worker that fails or dies stops the others; the caller gets the error, never a partial clip.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable

from formcheck.config import PoseSettings
from formcheck.errors import FormcheckError
from formcheck.pose.chunks import Chunk, pack_detections
from formcheck.sources import VideoInfo, iter_frames, read_ahead

log = logging.getLogger(__name__)

# Progress messages are batched: one per this many frames per worker.
PROGRESS_EVERY = 10
# How often the parent checks that its workers are still alive while it waits.
POLL_S = 1.0


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))  # honours taskset / container CPU sets
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def pose_workers(settings: PoseSettings) -> int:
    """Landmarker processes for one clip. A daemonic process (e.g. a service slot) may not
    start children, so it runs its clip in one process."""
    if multiprocessing.current_process().daemon:
        return 1
    return settings.workers or available_cores()


def _run_chunk(info: VideoInfo, settings: PoseSettings, chunk: Chunk, messages) -> None:
    """Worker process body: detections of one chunk, progress on the way, then the result."""
    from formcheck.pose.landmarker import create_landmarker, detect_frames

    try:
        pending = 0
        core_end = chunk.core_end_s if chunk.core_end_s is not None else float("inf")

        def counted(frames):
            nonlocal pending
            for frame in frames:
                if chunk.core_start_s <= frame.time_s < core_end:
                    pending += 1
                    if pending >= PROGRESS_EVERY:
                        messages.put(("progress", chunk.index, pending))
                        pending = 0
                yield frame

        frames = iter_frames(
            info, max_long_side=settings.inference_long_side, start_s=chunk.start_s, end_s=chunk.end_s
        )
        with create_landmarker(settings) as landmarker:
            times, per_frame = detect_frames(landmarker, counted(read_ahead(frames)), info.width, info.height)
        if pending:
            messages.put(("progress", chunk.index, pending))
        messages.put(("done", chunk.index, pack_detections(times, per_frame)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        hint = exc.hint if isinstance(exc, FormcheckError) else ""
        messages.put(("error", chunk.index, (type(exc), str(getattr(exc, "message", exc)), hint, traceback.format_exc())))


def _raise_worker_error(chunk_index: int, detail: tuple) -> None:
    cls, message, hint, trace = detail
    if isinstance(cls, type) and issubclass(cls, FormcheckError):
        raise cls(message, hint)
    raise RuntimeError(f"pose worker for chunk {chunk_index} failed: {message}\n{trace}")


def detect_chunks(
    info: VideoInfo,
    settings: PoseSettings,
    chunks: list[Chunk],
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """Packed detections of every chunk, in chunk order (see chunks.pack_detections)."""
    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    workers = [
        ctx.Process(target=_run_chunk, args=(info, settings, chunk, messages), name=f"formcheck-pose-{chunk.index}")
        for chunk in chunks
    ]
    results: dict[int, dict] = {}
    try:
        for worker in workers:
            worker.start()
        while len(results) < len(chunks):
            try:
                kind, index, payload = messages.get(timeout=POLL_S)
            except queue.Empty:
                dead = [c for c, w in zip(chunks, workers) if c.index not in results and not w.is_alive()]
                if not dead:
                    continue
                try:  # a worker that has just finished may still have its result in the pipe
                    kind, index, payload = messages.get(timeout=POLL_S)
                except queue.Empty:
                    worker = workers[dead[0].index]
                    raise RuntimeError(
                        f"pose worker for chunk {dead[0].index} stopped (exit code {worker.exitcode}) without a result"
                    ) from None
            if kind == "progress":
                if progress:
                    progress(payload)
            elif kind == "done":
                results[index] = payload
            else:
                _raise_worker_error(index, payload)
    finally:
        for worker in workers:
            if worker.is_alive() and worker.pid is not None and len(results) < len(chunks):
                worker.terminate()
        for worker in workers:
            if worker.pid is not None:
                worker.join(timeout=10)
        messages.close()
    return [results[chunk.index] for chunk in chunks]
