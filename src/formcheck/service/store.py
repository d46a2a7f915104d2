"""Jobs in SQLite (stdlib sqlite3, WAL mode): shared by the API process and the worker processes.

One short-lived connection per operation: safe across threads and processes, and WAL lets
readers (GET polling) proceed while a worker writes its progress.

A write lock held by someone else (a backup, an operator's sqlite3 shell, a stuck process) is
waited for: SQLite's busy timeout, then retries with back-off. The API waits `timeout_s` and
then answers 503 with Retry-After (`DatabaseBusyError`); a worker's final status write
(`patient=True`) waits much longer, because giving up there would lose a finished analysis.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from formcheck.service.errors import ApiError

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id            TEXT PRIMARY KEY,
    status        TEXT NOT NULL,
    exercise      TEXT NOT NULL,
    model         TEXT NOT NULL,
    input_name    TEXT NOT NULL,
    file_name     TEXT NOT NULL DEFAULT '',
    progress      REAL NOT NULL DEFAULT 0,
    stage         TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    error_code    TEXT,
    error_message TEXT,
    error_hint    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
"""
# Columns added after the table's first release. New and old databases alike get them from
# `init()` (ALTER TABLE when missing), so a database made by an older version keeps working.
ADDED_COLUMNS = {
    "leg_length_left_cm": "REAL",   # per-upload scale: ASIS to medial malleolus, cm
    "leg_length_right_cm": "REAL",
    "marker_size_cm": "REAL",       # side of the printed ArUco floor marker, cm
    "subject": "TEXT",              # who to analyse (pose.tracking.SubjectHint); NULL = auto
}


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


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


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
    def __init__(self, db_path: Path, timeout_s: float = 10.0) -> None:
        self.db_path = Path(db_path)
        self.timeout_s = timeout_s

    @contextmanager
    def connect(self, busy_timeout_s: float = 2.0) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=busy_timeout_s, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            yield conn
        finally:
            conn.close()

    def _retry(self, operation: Callable[[sqlite3.Connection], T], patient: bool = False,
               timeout_s: float | None = None) -> T:
        """Run `operation` on a fresh connection, retrying with back-off while the DB is locked."""
        if timeout_s is None:
            timeout_s = PATIENT_TIMEOUT_S if patient else self.timeout_s
        deadline = time.monotonic() + timeout_s
        delay = 0.05
        while True:
            left = deadline - time.monotonic()
            try:
                with self.connect(busy_timeout_s=max(0.05, min(2.0, left))) as conn:
                    return operation(conn)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() + delay >= deadline:
                    raise DatabaseBusyError(
                        "The job database is busy (locked by another process).",
                        "Try again in a few seconds.",
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    def init(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect(busy_timeout_s=self.timeout_s) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            _add_missing_columns(conn)

    def ping(self) -> bool:
        return self._retry(lambda conn: conn.execute("SELECT 1").fetchone()[0] == 1)

    def create(self, job_id: str, *, exercise: str, model: str, input_name: str, file_name: str,
               leg_length_left_cm: float | None = None, leg_length_right_cm: float | None = None,
               marker_size_cm: float | None = None, subject: str | None = None) -> Job:
        stamp = now()
        self._retry(lambda conn: conn.execute(
            "INSERT INTO jobs (id, status, exercise, model, input_name, file_name, created_at, updated_at,"
            " leg_length_left_cm, leg_length_right_cm, marker_size_cm, subject)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, QUEUED, exercise, model, input_name, file_name, stamp, stamp,
             leg_length_left_cm, leg_length_right_cm, marker_size_cm, subject),
        ))
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        row = self._retry(lambda conn: conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())
        return Job(**dict(row)) if row else None

    def ids(self) -> set[str]:
        return self._retry(lambda conn: {row[0] for row in conn.execute("SELECT id FROM jobs")})

    def count(self, status: str) -> int:
        return self._retry(
            lambda conn: conn.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status,)).fetchone()[0])

    def list_active(self) -> list[Job]:
        rows = self._retry(lambda conn: conn.execute(
            "SELECT * FROM jobs WHERE status IN (?, ?) ORDER BY created_at", ACTIVE
        ).fetchall())
        return [Job(**dict(r)) for r in rows]

    def _update(self, job_id: str, where: str, params: tuple, patient: bool = False, timeout_s: float | None = None,
                **fields: object) -> bool:
        fields["updated_at"] = now()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        sql = f"UPDATE jobs SET {assignments} WHERE id = ? {where}"
        return self._retry(lambda conn: conn.execute(sql, (*fields.values(), job_id, *params)).rowcount > 0,
                           patient, timeout_s)

    def mark_queued(self, job_id: str) -> bool:
        return self._update(job_id, "", (), status=QUEUED, progress=0.0, stage="",
                            error_code=None, error_message=None, error_hint=None)

    def mark_running(self, job_id: str) -> int | None:
        """The attempt number this run owns, or None when the job is gone (deleted) or no longer
        queued: the worker must not run it. Later writes of the run name their attempt, so a
        stale run (one the server has since given up on) can never overwrite a newer one.
        """
        def claim(conn: sqlite3.Connection) -> int | None:
            cur = conn.execute(
                "UPDATE jobs SET status = ?, progress = 0, stage = 'starting', attempts = attempts + 1,"
                " updated_at = ? WHERE id = ? AND status = ? RETURNING attempts",
                (RUNNING, now(), job_id, QUEUED),
            )
            row = cur.fetchone()
            return int(row[0]) if row else None

        return self._retry(claim, patient=True)

    def set_progress(self, job_id: str, progress: float, stage: str, attempt: int | None = None) -> bool:
        """False when the job was deleted or taken over meanwhile (the worker then stops).

        Progress is advisory: while the database is locked the write is skipped, not waited for.
        """
        where, params = self._owned(attempt)
        try:
            return self._update(job_id, where, params, timeout_s=PROGRESS_TIMEOUT_S, progress=progress, stage=stage)
        except DatabaseBusyError:
            return True

    def mark_done(self, job_id: str, attempt: int | None = None) -> bool:
        where, params = self._owned(attempt)
        return self._update(job_id, where, params, patient=True, status=DONE, progress=1.0, stage="done")

    def mark_failed(self, job_id: str, code: str, message: str, hint: str = "", *, only_active: bool = True,
                    attempt: int | None = None, patient: bool = False) -> bool:
        where, params = ("AND status IN (?, ?)", ACTIVE) if only_active else ("", ())
        if attempt is not None:
            where, params = self._owned(attempt)
        return self._update(job_id, where, params, patient=patient or attempt is not None, status=FAILED,
                            stage="failed", error_code=code, error_message=message, error_hint=hint)

    @staticmethod
    def _owned(attempt: int | None) -> tuple[str, tuple]:
        if attempt is None:
            return "AND status = ?", (RUNNING,)
        return "AND status = ? AND attempts = ?", (RUNNING, attempt)

    def delete(self, job_id: str) -> bool:
        return self._retry(lambda conn: conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0)


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """ALTER TABLE for each of `ADDED_COLUMNS` the table lacks (its old rows get NULL).

    In one write transaction: two processes starting on the same database add each column once.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        present = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
        for name, kind in ADDED_COLUMNS.items():
            if name not in present:
                conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
