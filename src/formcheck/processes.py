"""Run a few CPU-bound tasks of one clip side by side, with progress: the first in this
process, each other one in a process of its own.

Used for the pose chunks (pose/parallel.py). Processes, not threads: a MediaPipe landmarker
keeps one core busy and holds its own graph state, and Python code around it holds the GIL
(one landmarker per process, the caller's included). They are started with "spawn"
(the caller may have threads: the service, the decode read-ahead), and each task streams its
own part of the clip from the file, so nothing clip-sized crosses a process boundary. A task
that fails or dies stops the others; the caller gets the error, never a partial result.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from formcheck.errors import FormcheckError

# How often the parent checks that its workers are still alive while it waits.
POLL_S = 1.0
# Progress messages are batched: one per this many units of work per task.
PROGRESS_EVERY = 10


# cgroup v2 CPU limit of this container ("max" or "<quota> <period>"), e.g. `docker run --cpus 1.5`.
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cpu_quota_cores(text: str) -> int | None:
    """Cores a cgroup v2 `cpu.max` line allows (rounded up), None when unlimited or unreadable."""
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None


def available_cores() -> int:
    """Cores this process may use: its CPU set (taskset, cpuset), capped by a container's
    CPU quota, which the CPU set does not show (more processes than the quota only thrash)."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        cores = max(1, os.cpu_count() or 1)
    try:
        quota = cpu_quota_cores(CGROUP_CPU_MAX.read_text())
    except OSError:
        quota = None
    return min(cores, quota) if quota else cores


def worker_count(configured: int) -> int:
    """Processes for one clip: `configured`, 0 meaning one per core. A daemonic process
    (e.g. a service slot) may not start children, so it does the work itself."""
    if multiprocessing.current_process().daemon:
        return 1
    return configured or available_cores()


class _Reporter:
    """The `report(n)` a task gets: batches progress onto the parent's queue."""

    def __init__(self, messages, index: int) -> None:
        self.messages, self.index, self.pending = messages, index, 0

    def __call__(self, n: int = 1) -> None:
        self.pending += n
        if self.pending >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.messages.put(("progress", self.index, self.pending))
            self.pending = 0


def _task_main(fn: Callable[..., Any], args: tuple, index: int, messages) -> None:
    report = _Reporter(messages, index)
    try:
        result = fn(*args, report)
        report.flush()
        messages.put(("done", index, result))
    except BaseException as exc:  # reported to the parent, which raises it
        hint = exc.hint if isinstance(exc, FormcheckError) else ""
        detail = (type(exc), str(getattr(exc, "message", exc)), hint, traceback.format_exc())
        messages.put(("error", index, detail))


def _raise_task_error(index: int, detail: tuple) -> None:
    cls, message, hint, trace = detail
    if isinstance(cls, type) and issubclass(cls, FormcheckError):
        raise cls(message, hint)
    raise RuntimeError(f"worker process {index} failed: {message}\n{trace}")


def run_parallel(
    fn: Callable[..., Any], task_args: Sequence[tuple], progress: Callable[[int], None] | None = None
) -> list[Any]:
    """`fn(*args, report)` for each args, the first in a thread of this process and each other
    one in its own process; results in task order.

    The first task stays here because this process has already paid for its imports (a
    spawned one re-imports numpy, OpenCV, PyAV and MediaPipe: about a second of CPU each).
    `fn` must be a module-level function (the others are pickled by name); `report(n)` adds n
    to the progress passed on to `progress`. A failing task raises here; the local one, if
    still running then, finishes in its (daemon) thread and is dropped.
    """
    if not task_args:
        return []
    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    workers = [
        ctx.Process(target=_task_main, args=(fn, args, k, messages), name=f"formcheck-{fn.__name__}-{k}")
        for k, args in enumerate(task_args) if k > 0
    ]
    local = threading.Thread(target=_task_main, args=(fn, task_args[0], 0, messages), daemon=True,
                             name=f"formcheck-{fn.__name__}-0")
    results: dict[int, Any] = {}
    try:
        for worker in workers:
            worker.start()
        local.start()
        while len(results) < len(task_args):
            try:
                kind, index, payload = messages.get(timeout=POLL_S)
            except queue.Empty:
                dead = [k for k, w in enumerate(workers, start=1) if k not in results and not w.is_alive()]
                if not dead:
                    continue
                try:  # a worker that has just finished may still have its result in the pipe
                    kind, index, payload = messages.get(timeout=POLL_S)
                except queue.Empty:
                    raise RuntimeError(
                        f"worker process {dead[0]} ({fn.__name__}) stopped with exit code "
                        f"{workers[dead[0] - 1].exitcode} without a result"
                    ) from None
            if kind == "progress":
                if progress:
                    progress(payload)
            elif kind == "done":
                results[index] = payload
            else:
                _raise_task_error(index, payload)
    finally:
        for worker in workers:
            if worker.is_alive() and len(results) < len(task_args):
                worker.terminate()
        for worker in workers:
            if worker.pid is not None:
                worker.join(timeout=10)
        messages.close()
    return [results[k] for k in range(len(task_args))]
