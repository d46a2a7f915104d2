"""Jobs in the service's database (`formcheck.db`: SQLite in WAL mode by default, or Postgres), shared by
the API process and the worker processes.

One transaction per operation: safe across threads and processes; on SQLite, WAL lets readers
(GET polling) proceed while a worker writes its progress.

A write lock held by someone else (a backup, an operator's sqlite3 shell, a stuck process) is
waited for: SQLite's busy timeout or Postgres's lock timeout, then retries with back-off. The API
waits `timeout_s` and then answers 503 with Retry-After (`DatabaseBusyError`); a worker's final
status write (`patient=True`) waits much longer, because giving up there would lose a finished analysis.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from formcheck.db.engine import is_sqlite, make_engine
from formcheck.db.migrate import upgrade
from formcheck.db.tables import jobs
from formcheck.service.errors import ApiError

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)

T = TypeVar("T")
# How long a worker keeps retrying its final status write while the database is locked.
PATIENT_TIMEOUT_S = 600.0
# A progress write waits at most this long, then is skipped (the next one will get through).
PROGRESS_TIMEOUT_S = 0.5
# A worker's reads (is my job still there?) wait this long.
WORKER_TIMEOUT_S = 120.0


class DatabaseBusyError(ApiError):
    code = "database_busy"
    http_status = 503
    headers = {"Retry-After": "5"}


def is_busy(exc: OperationalError) -> bool:
    """A lock held by someone else: SQLite's busy timeout ran out, or Postgres's lock_timeout did (or
    Postgres broke a deadlock by aborting this transaction): trying again later is the cure."""
    if not isinstance(exc.orig, sqlite3.Error):
        return getattr(exc.orig, "sqlstate", None) in ("55P03", "40P01")  # lock_not_available, deadlock_detected
    words = str(exc.orig).lower()
    return "locked" in words or "busy" in words


def is_disk_full(exc: OperationalError) -> bool:
    """The database could not write: Postgres's disk_full, or SQLite's words for a full or failing disk."""
    if not isinstance(exc.orig, sqlite3.Error):
        return getattr(exc.orig, "sqlstate", None) == "53100"
    words = str(exc.orig).lower()
    return "disk" in words or "full" in words


def now() -> str:
    return datetime.now(UTC).isoformat()


def new_job_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    exercise: str
    model: str
    input_name: str
    file_name: str
    progress: float
    stage: str
    attempts: int
    error_code: str | None
    error_message: str | None
    error_hint: str | None
    created_at: str
    updated_at: str
    leg_length_left_cm: float | None = None
    leg_length_right_cm: float | None = None
    marker_size_cm: float | None = None
    subject: str | None = None

    @property
    def leg_length_cm(self) -> dict[str, float] | None:
        """The sides given, as `analyze_video` takes them; None when neither is."""
        legs = {"left": self.leg_length_left_cm, "right": self.leg_length_right_cm}
        return {side: cm for side, cm in legs.items() if cm is not None} or None


class JobStore:
    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.engine = make_engine(url, timeout_s)
        self.sqlite = is_sqlite(url)

    def _retry(self, operation: Callable[[Connection], T], patient: bool = False,
               timeout_s: float | None = None) -> T:
        """Run `operation` in a transaction, retrying with back-off while the DB is locked."""
        if timeout_s is None:
            timeout_s = PATIENT_TIMEOUT_S if patient else self.timeout_s
        deadline = time.monotonic() + timeout_s
        delay = 0.05
        while True:
            left = deadline - time.monotonic()
            try:
                with self.engine.begin() as conn:
                    wait_ms = int(max(0.05, min(2.0, left)) * 1000)  # for a lock, per attempt
                    conn.exec_driver_sql(f"PRAGMA busy_timeout = {wait_ms}" if self.sqlite
                                         else f"SET LOCAL lock_timeout = {wait_ms}")
                    return operation(conn)
            except OperationalError as exc:
                if not is_busy(exc):
                    raise
                if time.monotonic() + delay >= deadline:
                    raise DatabaseBusyError(
                        "The job database is busy (locked by another process).",
                        "Try again in a few seconds.",
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    def init(self) -> None:
        """Create the tables or migrate an older database (`formcheck.db.migrate`)."""
        upgrade(self.url, self.timeout_s)

    def ping(self) -> bool:
        return self._retry(lambda conn: conn.execute(text("SELECT 1")).scalar() == 1)

    def create(self, job_id: str, *, exercise: str, model: str, input_name: str, file_name: str,
               leg_length_left_cm: float | None = None, leg_length_right_cm: float | None = None,
               marker_size_cm: float | None = None, subject: str | None = None) -> Job:
        stamp = now()
        values = dict(id=job_id, status=QUEUED, exercise=exercise, model=model, input_name=input_name,
                      file_name=file_name, created_at=stamp, updated_at=stamp, leg_length_left_cm=leg_length_left_cm,
                      leg_length_right_cm=leg_length_right_cm, marker_size_cm=marker_size_cm, subject=subject)
        self._retry(lambda conn: conn.execute(insert(jobs).values(**values)))
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        row = self._retry(lambda conn: conn.execute(select(jobs).where(jobs.c.id == job_id)).first())
        return Job(**row._mapping) if row else None

    def ids(self) -> set[str]:
        return self._retry(lambda conn: set(conn.execute(select(jobs.c.id)).scalars()))

    def count(self, status: str) -> int:
        return self._retry(lambda conn: conn.execute(
            select(func.count()).select_from(jobs).where(jobs.c.status == status)).scalar_one())

    def list_active(self) -> list[Job]:
        rows = self._retry(lambda conn: conn.execute(
            select(jobs).where(jobs.c.status.in_(ACTIVE)).order_by(jobs.c.created_at)).all())
        return [Job(**r._mapping) for r in rows]

    def _update(self, job_id: str, where: ColumnElement[bool] | None = None, patient: bool = False,
                timeout_s: float | None = None, **fields: object) -> bool:
        fields["updated_at"] = now()
        condition = jobs.c.id == job_id if where is None else and_(jobs.c.id == job_id, where)
        statement = update(jobs).where(condition).values(**fields)
        return self._retry(lambda conn: conn.execute(statement).rowcount > 0, patient, timeout_s)

    def mark_queued(self, job_id: str) -> bool:
        return self._update(job_id, status=QUEUED, progress=0.0, stage="",
                            error_code=None, error_message=None, error_hint=None)

    def requeue_attempt(self, job_id: str, attempt: int) -> bool:
        """Queue the job again when `attempt` is still its run (its worker stopped or went silent);
        False when that run already ended or a newer one took over."""
        return self._update(job_id, self._owned(attempt), status=QUEUED, progress=0.0, stage="",
                            error_code=None, error_message=None, error_hint=None)

    def mark_running(self, job_id: str) -> int | None:
        """The attempt number this run owns, or None when the job is gone (deleted) or no longer
        queued: the worker must not run it. Later writes of the run name their attempt, so a
        stale run (one the server has since given up on) can never overwrite a newer one.
        """
        claim = (update(jobs).where(jobs.c.id == job_id, jobs.c.status == QUEUED)
                 .values(status=RUNNING, progress=0, stage="starting", attempts=jobs.c.attempts + 1, updated_at=now())
                 .returning(jobs.c.attempts))
        return self._retry(lambda conn: conn.execute(claim).scalar(), patient=True)

    def set_progress(self, job_id: str, progress: float, stage: str, attempt: int | None = None) -> bool:
        """False when the job was deleted or taken over meanwhile (the worker then stops).

        Progress is advisory: while the database is locked the write is skipped, not waited for.
        """
        try:
            return self._update(job_id, self._owned(attempt), timeout_s=PROGRESS_TIMEOUT_S,
                                progress=progress, stage=stage)
        except DatabaseBusyError:
            return True

    def mark_done(self, job_id: str, attempt: int | None = None) -> bool:
        return self._update(job_id, self._owned(attempt), patient=True, status=DONE, progress=1.0, stage="done")

    def mark_failed(self, job_id: str, code: str, message: str, hint: str = "", *, only_active: bool = True,
                    attempt: int | None = None, patient: bool = False) -> bool:
        where: ColumnElement[bool] | None = jobs.c.status.in_(ACTIVE) if only_active else None
        if attempt is not None:
            where = self._owned(attempt)
        return self._update(job_id, where, patient=patient or attempt is not None, status=FAILED,
                            stage="failed", error_code=code, error_message=message, error_hint=hint)

    @staticmethod
    def _owned(attempt: int | None) -> ColumnElement[bool]:
        if attempt is None:
            return jobs.c.status == RUNNING
        return and_(jobs.c.status == RUNNING, jobs.c.attempts == attempt)

    def delete(self, job_id: str) -> bool:
        return self._retry(lambda conn: conn.execute(delete(jobs).where(jobs.c.id == job_id)).rowcount > 0)
