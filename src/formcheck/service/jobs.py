"""The job queue: a few long-lived analysis processes (MediaPipe is CPU-bound: one per core at most).

Why not `concurrent.futures.ProcessPoolExecutor`: when one of its processes dies (killed for
memory, SIGKILL), the executor breaks and fails *every* pending and running job with it. Here
each process has its own slot: a slot thread hands it one job at a time over a pipe and waits
for the answer or the process's death. A death fails that one job with a reason and the slot
starts a fresh process for the next job; the other slots never notice.

Processes are started with "spawn": the API process has threads (event loop, thread pool),
and forking a threaded process can deadlock the child. Each worker asks the kernel to kill it
when the server dies (`PR_SET_PDEATHSIG`), so a server killed with -9 leaves no orphan writing
into a job that the next server runs again.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import queue
import re
import resource
import shutil
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING

from formcheck.service.errors import TooManyUploadsError
from formcheck.service.settings import ServiceSettings
from formcheck.service.storage import MediaStorage, storage_from_settings
from formcheck.service.store import QUEUED, RUNNING, Job, JobStore
from formcheck.service.worker import RESULTS, Analyze, pipeline_analysis, results_dir, run_job

if TYPE_CHECKING:
    from formcheck.service.distributed import Deferrer, WorkerLoop

log = logging.getLogger(__name__)

INTERRUPTED_HINT = "Upload the clip again."
JOB_DIR = re.compile(r"^[0-9a-f]{32}$")
MAX_ATTEMPTS = 3  # a clip that kills the server each time is not retried forever
_STOP = None  # sentinel on the queue: a slot exits
# Analyses are batch work: below the API process in CPU priority (Unix nice increment).
WORKER_NICENESS = 5


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the thread that started it (the server) goes away."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux/glibc
        pass


def _limit_cpu(seconds: float) -> None:
    """Have the kernel end this process (SIGXCPU) once it has used `seconds` more CPU time.

    An analysis process runs everything of its job in itself (threads included; as a daemon it
    starts no processes), so the process's CPU time is the job's.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _worker_main(conn: Connection, parent_pid: int, job_cpu_s: float, analyze: Analyze,
                 storage: MediaStorage) -> None:
    """Body of an analysis process: run the jobs the slot sends until told to stop."""
    _die_with_parent()
    if os.getppid() != parent_pid:  # the server died before prctl took effect
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    os.nice(WORKER_NICENESS)  # the API (uploads, polls, /healthz) stays responsive while analyses run
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            return
        if args is _STOP:
            return
        _limit_cpu(job_cpu_s)
        conn.send(run_job(*args, analyze=analyze, storage=storage))


def _death_reason(exitcode: int | None, job_cpu_s: float) -> tuple[str, str]:
    """The failed job's error code and message for an analysis process that died."""
    if exitcode == -signal.SIGXCPU:
        return "job_cpu_limit", f"The analysis used more than its {job_cpu_s:g} s of CPU time and was stopped."
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if -exitcode == signal.SIGKILL else ""
        return "worker_crashed", f"The analysis process was killed by {name}{hint}."
    return "worker_crashed", f"The analysis process stopped unexpectedly (exit code {exitcode})."


@dataclass(frozen=True)
class _Run:
    """One job for a slot: `run_job`'s arguments, and an event set once the slot is done with it."""

    args: tuple
    finished: threading.Event = field(default_factory=threading.Event)


class _Slot(threading.Thread):
    """One analysis process and the thread that feeds it jobs and watches it."""

    def __init__(self, manager: JobManager, index: int) -> None:
        super().__init__(name=f"formcheck-slot-{index}", daemon=True)
        self.manager = manager
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None
        self.job_id: str | None = None

    def _ensure_process(self) -> None:
        if self.process is not None and self.process.is_alive():
            return
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_worker_main,
                              args=(child, os.getpid(), self.manager.settings.job_cpu_s, self.manager.analyze,
                                    self.manager.storage),
                              daemon=True, name=self.name)
        process.start()
        child.close()
        self.process, self.conn = process, parent

    def run(self) -> None:
        manager = self.manager
        while True:
            item = manager._queue.get()
            if item is _STOP or manager._closing:
                if item is not _STOP:
                    item.finished.set()
                return
            try:
                self._run_one(item.args)
            finally:
                item.finished.set()
            if manager._closing:
                return

    def _run_one(self, args: tuple) -> None:
        manager = self.manager
        job_id = args[0]
        if job_id in manager._cancelled:
            manager._cancelled.discard(job_id)
            return
        try:
            self._ensure_process()
        except OSError as exc:  # cannot start a process (out of memory, pid limit)
            manager._crashed(job_id, f"The analysis process could not start ({exc}).")
            return
        assert self.process is not None and self.conn is not None
        self.job_id = job_id
        timed_out = False
        try:
            self.conn.send(args)
            ready = wait([self.conn, self.process.sentinel], timeout=manager.settings.job_timeout_s)
            if self.conn in ready:
                self.conn.recv()  # run_job's own status; it has written the DB itself
                return
            if not ready:  # over the wall-clock limit: the process (and the job in it) is stopped
                timed_out = True
                self.process.kill()
        except (EOFError, OSError):
            pass
        finally:
            self.job_id = None
        # The process died (or was stopped) while running the job.
        self.process.join(timeout=5)
        exitcode = self.process.exitcode
        self.process, self.conn = None, None
        if manager._closing:
            return  # stopped by shutdown: the job stays running and is recovered at the next start / by a sweep
        if timed_out:
            limit = manager.settings.job_timeout_s
            manager._crashed(job_id, f"The analysis took longer than its {limit:g} s limit and was stopped.",
                             "job_time_limit")
        else:
            code, reason = _death_reason(exitcode, manager.settings.job_cpu_s)
            manager._crashed(job_id, reason, code)

    def stop(self) -> None:
        process = self.process
        if process is not None and process.is_alive():
            process.terminate()


class JobManager:
    def __init__(self, settings: ServiceSettings, store: JobStore, analyze: Analyze = pipeline_analysis,
                 storage: MediaStorage | None = None) -> None:
        """`analyze`: what each job runs (`worker.run_job`'s; by default the pipeline). `storage`: where the
        jobs' media are kept (default from the settings: the S3 bucket, else the data dir's media folder)."""
        self.settings = settings
        self.store = store
        self.analyze = analyze
        self.storage = storage or storage_from_settings(settings)
        self._queue: queue.Queue = queue.Queue()
        self._cancelled: set[str] = set()
        self._slots: list[_Slot] = []
        self._closing = False
        self._admission = threading.Lock()
        self._reserved = 0  # uploads admitted but not yet queued
        self._uploading: Counter[str] = Counter()  # client -> uploads whose body is being received
        self._deferrer: Deferrer | None = None  # distributed: jobs go to Procrastinate
        self._worker_loop: WorkerLoop | None = None  # distributed, with local slots: this process runs jobs too

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the analysis processes; embedded: re-queue what a previous process left. Distributed:
        Procrastinate's schema, and a worker loop when this process runs analyses itself (`workers` > 0)."""
        self.settings.media_dir.mkdir(parents=True, exist_ok=True)
        self.storage.prepare()
        self._slots = [_Slot(self, i) for i in range(self.settings.workers)]
        for slot in self._slots:
            slot.start()
        if self.settings.distributed:
            from formcheck.service import distributed

            distributed.ensure_schema(self.settings.db_url)
            self._deferrer = distributed.Deferrer(self.settings.db_url)
            if self._slots:
                self._worker_loop = distributed.WorkerLoop(self)
                self._worker_loop.start_thread()
        self.recover()

    def shutdown(self) -> None:
        """Queued jobs stay `queued` in the DB and are picked up at the next start.

        Running analyses are stopped, not awaited (they can take minutes): their jobs stay
        `running` in the DB and are re-queued by `recover()` at the next start (embedded) or handed
        back to Procrastinate for another worker (distributed).
        """
        self._closing = True
        if self._worker_loop is not None:
            self._worker_loop.request_stop()  # fetch nothing more; the running tasks end below
        for _ in self._slots:
            self._queue.put(_STOP)
        for slot in self._slots:
            slot.stop()
        for slot in self._slots:
            slot.join(timeout=10)
        if self._worker_loop is not None:
            self._worker_loop.join()
        if self._deferrer is not None:
            self._deferrer.close()

    # -- admission -----------------------------------------------------------------------------
    def queue_full(self) -> bool:
        """True when `max_queued` jobs are waiting: an upload is then refused before its body is read."""
        with self._admission:
            return self.store.count(QUEUED) + self._reserved >= self.settings.max_queued

    def try_admit(self) -> bool:
        """Reserve a place in the queue for an upload whose body is complete; False when the queue is full.

        Taken only once the clip is on disk and checked: connections still sending a body hold
        no place in the queue (they count against their client's upload quota instead).
        """
        with self._admission:
            if self.store.count(QUEUED) + self._reserved >= self.settings.max_queued:
                return False
            self._reserved += 1
            return True

    @contextmanager
    def upload_slot(self, client: str) -> Iterator[None]:
        """Count one upload of `client` (an IP, or a clinician) while its body is received.

        Raises `TooManyUploadsError` when the client already sends `max_uploads_per_client`.
        """
        with self._admission:
            if self._uploading[client] >= self.settings.max_uploads_per_client:
                raise TooManyUploadsError(self.settings.max_uploads_per_client, self.settings.retry_after_s)
            self._uploading[client] += 1
        try:
            yield
        finally:
            with self._admission:
                self._uploading[client] -= 1
                if not self._uploading[client]:
                    del self._uploading[client]

    def release(self) -> None:
        """The admitted upload is queued (or refused): its reservation ends."""
        with self._admission:
            self._reserved = max(0, self._reserved - 1)

    # -- jobs --------------------------------------------------------------------------------
    def job_dir(self, job_id: str) -> Path:
        """The job's folder on this machine: a cache of what `storage` holds for it."""
        return self.settings.media_dir / job_id

    # -- the clinic's view of its clips' analyses (`formcheck.clinic.analyses.Analyses`) -------
    def get(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    def results(self, job_id: str) -> Path:
        """The job's results folder on this machine, fetched from the storage when this machine has none."""
        folder = results_dir(self.job_dir(job_id))
        if not folder.is_dir():
            self.storage.fetch_folder(job_id, RESULTS, folder)
        return folder

    def upload(self, job_id: str) -> Path | None:
        """The uploaded clip on this machine (fetched from the storage when missing); None when not kept."""
        local = next(iter(sorted(self.job_dir(job_id).glob("input.*"))), None)
        if local is not None:
            return local
        job = self.store.get(job_id)
        if job is None:
            return None
        path = self.job_dir(job_id) / job.input_name
        return path if self.storage.fetch_file(job_id, job.input_name, path) else None

    def delete_video(self, job_id: str) -> None:
        """Delete the uploaded clip, and the annotated video drawn from it, here and in the storage."""
        for path in self.job_dir(job_id).glob("input.*"):
            path.unlink(missing_ok=True)
        (results_dir(self.job_dir(job_id)) / "annotated.mp4").unlink(missing_ok=True)  # never stored
        job = self.store.get(job_id)
        if job is not None:
            self.storage.delete_file(job_id, job.input_name)

    def save_results(self, job_id: str, subfolder: str) -> None:
        """Store a folder written into the job's results after the job (the clinic's key frames)."""
        self.storage.put_folder(job_id, f"{RESULTS}/{subfolder}", results_dir(self.job_dir(job_id)) / subfolder)

    def running_pids(self) -> dict[str, int]:
        """Job id -> pid of the process analysing it (operators, tests)."""
        return {slot.job_id: slot.process.pid for slot in self._slots
                if slot.job_id is not None and slot.process is not None and slot.process.pid is not None}

    def submit(self, job: Job) -> None:
        """Queue the analysis: here (embedded) or in Procrastinate for any worker (distributed)."""
        self._cancelled.discard(job.id)
        if self._deferrer is not None:
            self._deferrer.defer(job.id)
        else:
            self._queue.put(_Run(self._run_args(job)))

    def _run_args(self, job: Job) -> tuple:
        """`run_job`'s arguments for `job` on this machine (its data dir, its pipeline settings)."""
        settings = self.settings.pipeline_settings(job.model).model_dump(mode="json")
        return (
            job.id,
            self.store.url,
            str(self.job_dir(job.id)),
            job.input_name,
            settings,
            job.exercise,
            self.settings.progress_interval_s,
            job.leg_length_cm,
            job.marker_size_cm,
            job.subject,
        )

    # -- distributed mode: called by `distributed` on this worker's Procrastinate loop -----------------
    def run_here(self, job_id: str) -> bool:
        """Run the analysis in one of this process's slots and wait for it; False when this worker
        stopped under it (Procrastinate then hands it to another worker)."""
        job = self.store.get(job_id)
        if job is None or job.status not in (QUEUED, RUNNING):
            return True  # deleted or already finished: nothing to run
        if self._closing:
            return False
        run = _Run(self._run_args(job))
        self._queue.put(run)
        run.finished.wait()
        if not self._closing:
            return True
        now = self.store.get(job_id)
        if now is not None and now.status == RUNNING:
            self.store.requeue_attempt(job_id, now.attempts)
        return False

    def take_back_stalled(self, job_id: str) -> str:
        """A job whose worker went silent: "retry" (queued again), "end" (finished, deleted or out of
        attempts: failed with the reason) or "skip" (another worker's sweep got there first)."""
        job = self.store.get(job_id)
        if job is None or job.status not in (QUEUED, RUNNING):
            return "end"
        if job.status == QUEUED:  # its worker died before claiming it
            return "retry"
        if job.attempts >= MAX_ATTEMPTS:
            self.store.mark_failed(
                job_id, "interrupted",
                f"The analysis was interrupted {job.attempts} times (its worker stopped answering while it ran).",
                "Try a shorter clip, or ask the operator to check the workers' memory.", attempt=job.attempts)
            return "end"
        return "retry" if self.store.requeue_attempt(job_id, job.attempts) else "skip"

    def _crashed(self, job_id: str, reason: str, code: str = "worker_crashed") -> None:
        log.error("analysis %s: %s", job_id, reason)
        self.store.mark_failed(
            job_id,
            code,
            reason,
            "Try a shorter or lower-resolution clip, or try again later.",
            patient=True,
        )
        job = self.store.get(job_id)
        folder = self.job_dir(job_id)
        for partial in folder.glob("results.partial*"):
            shutil.rmtree(partial, ignore_errors=True)
        if job is None:  # deleted meanwhile
            shutil.rmtree(folder, ignore_errors=True)

    def cancel(self, job_id: str) -> None:
        """A queued job is skipped; a running one stops at its next progress write."""
        self._cancelled.add(job_id)

    def delete(self, job_id: str) -> None:
        """The job, its folder here and its objects in the storage (a run meanwhile removes what it stored)."""
        self.cancel(job_id)
        self.store.delete(job_id)
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)
        self.storage.delete_job(job_id)

    def recover(self) -> None:
        """Jobs left queued/running by a previous process: run again, or fail with a reason.

        Media folders without a job (an upload cut off by a crash) are removed.
        """
        known = self.store.ids()
        for folder in self.settings.media_dir.iterdir():
            if folder.is_dir() and JOB_DIR.match(folder.name) and folder.name not in known:
                log.info("removing orphan upload folder %s", folder.name)
                shutil.rmtree(folder, ignore_errors=True)
        if self.settings.distributed:  # other workers may be running these: stalled ones are swept instead
            return
        for job in self.store.list_active():
            source = self.job_dir(job.id) / job.input_name
            if job.attempts >= MAX_ATTEMPTS:
                self.store.mark_failed(
                    job.id,
                    "interrupted",
                    f"The analysis was interrupted {job.attempts} times (the server stopped while it ran).",
                    "Try a shorter clip, or ask the operator to check the server's memory.",
                )
            elif source.is_file() or self.storage.exists(job.id, job.input_name):
                log.info("re-queueing analysis %s (was %s)", job.id, job.status)
                self.store.mark_queued(job.id)
                self.submit(job)
            else:
                was = "running" if job.status == RUNNING else "waiting"
                self.store.mark_failed(
                    job.id,
                    "interrupted",
                    f"The server restarted while this analysis was {was}, and the uploaded video is gone.",
                    INTERRUPTED_HINT,
                )
                shutil.rmtree(self.job_dir(job.id), ignore_errors=True)
