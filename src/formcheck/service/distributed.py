"""Analyses on Procrastinate (a Postgres task queue): any number of `formcheck worker` on any machines.

Used when the database is Postgres (`ServiceSettings.distributed`). The jobs table stays the
truth about an analysis (status, progress, attempt, error); Procrastinate only carries "run job
X" to some worker and knows which worker holds it:

- The API defers one Procrastinate job per analysis (`Deferrer`).
- A worker process (`formcheck worker`, or the API itself when its `workers` > 0) runs a
  Procrastinate worker whose concurrency is its number of analysis processes
  (`JobManager` slots); each task hands the analysis to a free slot and waits for it.
- Every worker sends a heartbeat. `sweep_stalled` (run by every worker every heartbeat) finds the
  jobs of workers silent for `worker_stalled_after_s` (killed, machine gone): the analysis goes
  back to `queued` (only if its attempt is still the stalled one) and its Procrastinate job is
  retried; after `MAX_ATTEMPTS` it fails with the reason. Stale runs cannot write over a newer
  attempt (`JobStore.mark_running`), so an analysis never completes twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import make_url

from formcheck.service.settings import ServiceSettings

if TYPE_CHECKING:
    import procrastinate


class JobRunner(Protocol):
    """What the queue needs of this process's analysis slots (`formcheck.service.jobs.JobManager`)."""

    settings: ServiceSettings

    def run_here(self, job_id: str) -> bool:
        """Run the analysis in a local slot; False when this worker stopped under it."""
        ...

    def take_back_stalled(self, job_id: str) -> str:
        """A silent worker's analysis: "retry", "end" or "skip"."""
        ...

log = logging.getLogger(__name__)

TASK = "formcheck.analyze"
QUEUE = "analyses"
# Hand-backs of one job by stopping workers before Procrastinate gives up on it.
HANDBACK_LIMIT = 100
# How long a stopping worker lets Procrastinate wind down after its analyses were handed back.
SHUTDOWN_GRACE_S = 10.0


class WorkerStopped(Exception):
    """The worker stopped while the analysis ran: Procrastinate retries it on another worker."""


def conninfo(database_url: str) -> str:
    """libpq connection string of a SQLAlchemy Postgres URL (`postgresql+psycopg://` -> `postgresql://`)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_schema(database_url: str) -> None:
    """Procrastinate's tables and functions, created once (an advisory lock serialises starting processes)."""
    import psycopg
    from procrastinate.schema import SchemaManager

    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('formcheck-procrastinate-schema'))")
        try:
            present = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if present is None or present[0] is None:
                conn.execute(SchemaManager.get_schema())
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('formcheck-procrastinate-schema'))")


class Deferrer:
    """The API's side: one Procrastinate job per analysis (a sync connector: called from request handlers)."""

    def __init__(self, database_url: str) -> None:
        import procrastinate

        self._app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo(database_url)))
        self._lock = threading.Lock()
        self._opened = False

    def defer(self, job_id: str) -> None:
        with self._lock:
            if not self._opened:
                self._app.open()
                self._opened = True
        self._app.configure_task(TASK, queue=QUEUE, allow_unknown=True).defer(job_id=job_id)

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self._app.close()
                self._opened = False


def worker_app(database_url: str, manager: JobRunner) -> procrastinate.App:
    """A Procrastinate app whose analysis task runs in `manager`'s local analysis processes."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url)))

    # Retried only when this worker stopped under it (the analysis' own failures are in the jobs table,
    # whose attempt count, not Procrastinate's, limits the runs: a hand-back before the claim costs none).
    retry = procrastinate.RetryStrategy(max_attempts=HANDBACK_LIMIT, wait=1, retry_exceptions={WorkerStopped})

    @app.task(name=TASK, queue=QUEUE, retry=retry)
    async def analyze(job_id: str) -> None:
        if not await asyncio.to_thread(manager.run_here, job_id):
            raise WorkerStopped(job_id)

    return app


def _sweep_lock(database_url: str) -> Any:
    """A connection holding the sweep's advisory lock, or None when another worker is sweeping.

    One sweep at a time: a sweep working from an older list of stalled jobs could otherwise take
    back a job that another sweep has already handed to a live worker."""
    import psycopg

    conn = psycopg.connect(conninfo(database_url), autocommit=True)
    row = conn.execute("SELECT pg_try_advisory_lock(hashtext('formcheck-stalled-sweep'))").fetchone()
    if row is None or not row[0]:
        conn.close()
        return None
    return conn  # closing it releases the lock


async def sweep_stalled(app: procrastinate.App, manager: JobRunner, stalled_after_s: float) -> int:
    """Hand the analyses of silent workers to others (or fail them after the attempt limit); how many."""
    lock = await asyncio.to_thread(_sweep_lock, manager.settings.db_url)
    if lock is None:
        return 0
    try:
        return await _sweep(app, manager, stalled_after_s)
    finally:
        await asyncio.to_thread(lock.close)


async def _sweep(app: procrastinate.App, manager: JobRunner, stalled_after_s: float) -> int:
    handled = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s, task_name=TASK):
        job_id = str(job.task_kwargs.get("job_id", ""))
        verdict = await asyncio.to_thread(manager.take_back_stalled, job_id)
        try:
            if verdict == "retry":
                log.warning("analysis %s: its worker went silent; running it again", job_id)
                await app.job_manager.retry_job(job)
            elif verdict == "end" and job.id is not None:  # failed, deleted or finished: so is its queue entry
                await app.job_manager.finish_job_by_id_async(job.id, status=_failed(), delete_job=False)
        except Exception:  # another worker's sweep handled it first
            log.debug("stalled analysis %s was already handled", job_id, exc_info=True)
            continue
        handled += verdict != "skip"
    return handled


def _failed() -> Any:
    from procrastinate.jobs import Status

    return Status.FAILED


class WorkerLoop:
    """A Procrastinate worker plus the stalled-job sweep, on its own event loop (its own thread or main)."""

    def __init__(self, manager: JobRunner) -> None:
        self.manager = manager
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self.started = threading.Event()
        self._error: BaseException | None = None

    def start_thread(self) -> None:
        """Start the loop in a thread of its own; raises what stopped it from starting (no database...)."""
        self._thread = threading.Thread(target=self.run, name="formcheck-procrastinate", daemon=True)
        self._thread.start()
        self.started.wait()
        if self._error is not None:
            raise RuntimeError(f"the Procrastinate worker could not start: {self._error}") from self._error

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            log.exception("the Procrastinate worker stopped")
        finally:
            self.started.set()

    def request_stop(self) -> None:
        """Fetch no more jobs; the running ones end (the manager stops its slots) within the grace."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)

    def join(self, timeout: float = SHUTDOWN_GRACE_S + 5) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    async def _main(self) -> None:
        settings = self.manager.settings
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        app = worker_app(settings.db_url, self.manager)
        name = f"{socket.gethostname()}:{os.getpid()}"
        async with app.open_async():
            worker = asyncio.create_task(app.run_worker_async(
                queues=[QUEUE], name=name, concurrency=settings.workers, install_signal_handlers=False,
                update_heartbeat_interval=settings.worker_heartbeat_s,
                stalled_worker_timeout=settings.worker_stalled_after_s,
                shutdown_graceful_timeout=SHUTDOWN_GRACE_S, fetch_job_polling_interval=1.0))
            sweeper = asyncio.create_task(self._sweep_forever(app))
            self.started.set()
            log.info("procrastinate worker %s: %d analysis process(es)", name, settings.workers)
            await self._stop.wait()
            sweeper.cancel()
            worker.cancel()
            await asyncio.gather(worker, sweeper, return_exceptions=True)

    async def _sweep_forever(self, app: procrastinate.App) -> None:
        settings = self.manager.settings
        while True:
            try:
                await sweep_stalled(app, self.manager, settings.worker_stalled_after_s)
            except Exception:  # the database may be restarting: try again next round
                log.exception("stalled-job sweep failed")
            await asyncio.sleep(settings.worker_heartbeat_s)
