"""The job queue: a `ProcessPoolExecutor` (MediaPipe is CPU-bound: one process per core at most).

Processes are started with "spawn": the API process has threads (event loop, thread pool),
and forking a threaded process can deadlock the child.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
import shutil
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from formcheck.service.settings import ServiceSettings
from formcheck.service.store import RUNNING, Job, JobStore
from formcheck.service.worker import run_job

log = logging.getLogger(__name__)

INTERRUPTED_HINT = "Upload the clip again."
JOB_DIR = re.compile(r"^[0-9a-f]{32}$")
MAX_ATTEMPTS = 3  # a clip that kills the server each time is not retried forever


class JobManager:
    def __init__(self, settings: ServiceSettings, store: JobStore) -> None:
        self.settings = settings
        self.store = store
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._futures: dict[str, Future] = {}
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.settings.media_dir.mkdir(parents=True, exist_ok=True)
        self.recover()

    def shutdown(self) -> None:
        """Queued jobs stay `queued` in the DB and are picked up at the next start."""
        with self._lock:
            self._closing = True
            executor, self._executor = self._executor, None
            self._futures.clear()
        if executor is not None:
            # Running analyses are stopped, not awaited (they can take minutes): their jobs stay
            # `running` in the DB and are re-queued by `recover()` at the next start.
            processes = list((getattr(executor, "_processes", None) or {}).values())
            executor.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                if process.is_alive():
                    process.terminate()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.settings.workers,
                mp_context=multiprocessing.get_context("spawn"),
            )
        return self._executor

    # -- jobs --------------------------------------------------------------------------------
    def job_dir(self, job_id: str) -> Path:
        return self.settings.media_dir / job_id

    def submit(self, job: Job) -> None:
        settings = self.settings.pipeline_settings(job.model).model_dump(mode="json")
        args = (
            job.id,
            str(self.store.db_path),
            str(self.job_dir(job.id)),
            job.input_name,
            settings,
            job.exercise,
            self.settings.progress_interval_s,
        )
        with self._lock:
            try:
                future = self._pool().submit(run_job, *args)
            except (BrokenProcessPool, RuntimeError):
                # A worker died (e.g. killed for memory): start a fresh pool.
                self._executor = None
                future = self._pool().submit(run_job, *args)
            self._futures[job.id] = future
        future.add_done_callback(lambda f, job_id=job.id: self._finished(job_id, f))

    def _finished(self, job_id: str, future: Future) -> None:
        with self._lock:
            self._futures.pop(job_id, None)
        if future.cancelled() or self._closing:
            return  # stopped by shutdown: the job stays queued/running and is recovered at the next start
        exc = future.exception()
        if exc is not None:  # the worker process itself died; run_job never raises otherwise
            log.error("analysis %s: worker failed: %r", job_id, exc)
            if isinstance(exc, BrokenProcessPool):
                with self._lock:
                    self._executor = None
            self.store.mark_failed(
                job_id,
                "worker_crashed",
                "The analysis process stopped unexpectedly (out of memory?).",
                "Try a shorter or lower-resolution clip, or try again later.",
            )

    def cancel(self, job_id: str) -> None:
        with self._lock:
            future = self._futures.pop(job_id, None)
        if future is not None:
            future.cancel()  # only succeeds while queued; a running job stops at its next progress write

    def delete(self, job_id: str) -> None:
        self.cancel(job_id)
        self.store.delete(job_id)
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def recover(self) -> None:
        """Jobs left queued/running by a previous process: run again, or fail with a reason.

        Media folders without a job (an upload cut off by a crash) are removed.
        """
        known = self.store.ids()
        for folder in self.settings.media_dir.iterdir():
            if folder.is_dir() and JOB_DIR.match(folder.name) and folder.name not in known:
                log.info("removing orphan upload folder %s", folder.name)
                shutil.rmtree(folder, ignore_errors=True)
        for job in self.store.list_active():
            source = self.job_dir(job.id) / job.input_name
            if job.attempts >= MAX_ATTEMPTS:
                self.store.mark_failed(
                    job.id,
                    "interrupted",
                    f"The analysis was interrupted {job.attempts} times (the server stopped while it ran).",
                    "Try a shorter clip, or ask the operator to check the server's memory.",
                )
            elif source.is_file():
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
