"""Jobs in SQLite (stdlib sqlite3, WAL mode): shared by the API process and the worker processes.

One short-lived connection per operation: safe across threads and processes, and WAL lets
readers (GET polling) proceed while a worker writes its progress.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

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


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


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


class JobStore:
    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=10.0, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            yield conn
        finally:
            conn.close()

    def init(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)

    def ping(self) -> bool:
        with self.connect() as conn:
            return conn.execute("SELECT 1").fetchone()[0] == 1

    def create(self, job_id: str, *, exercise: str, model: str, input_name: str, file_name: str) -> Job:
        stamp = now()
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO jobs (id, status, exercise, model, input_name, file_name, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, QUEUED, exercise, model, input_name, file_name, stamp, stamp),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        with self.connect() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job(**dict(row)) if row else None

    def ids(self) -> set[str]:
        with self.connect() as conn:
            return {row[0] for row in conn.execute("SELECT id FROM jobs")}

    def list_active(self) -> list[Job]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status IN (?, ?) ORDER BY created_at", ACTIVE
            ).fetchall()
        return [Job(**dict(r)) for r in rows]

    def _update(self, job_id: str, where: str, params: tuple, **fields: object) -> bool:
        fields["updated_at"] = now()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.connect() as conn:
            cur = conn.execute(
                f"UPDATE jobs SET {assignments} WHERE id = ? {where}", (*fields.values(), job_id, *params)
            )
            return cur.rowcount > 0

    def mark_queued(self, job_id: str) -> bool:
        return self._update(job_id, "", (), status=QUEUED, progress=0.0, stage="",
                            error_code=None, error_message=None, error_hint=None)

    def mark_running(self, job_id: str) -> bool:
        """False when the job is gone (deleted) or no longer queued: the worker must not run it."""
        with self.connect() as conn:
            cur = conn.execute(
                "UPDATE jobs SET status = ?, progress = 0, stage = 'starting', attempts = attempts + 1,"
                " updated_at = ? WHERE id = ? AND status = ?",
                (RUNNING, now(), job_id, QUEUED),
            )
            return cur.rowcount > 0

    def set_progress(self, job_id: str, progress: float, stage: str) -> bool:
        """False when the job was deleted meanwhile (the worker then stops)."""
        return self._update(job_id, "AND status = ?", (RUNNING,), progress=progress, stage=stage)

    def mark_done(self, job_id: str) -> bool:
        return self._update(job_id, "AND status = ?", (RUNNING,), status=DONE, progress=1.0, stage="done")

    def mark_failed(self, job_id: str, code: str, message: str, hint: str = "", *, only_active: bool = True) -> bool:
        where, params = ("AND status IN (?, ?)", ACTIVE) if only_active else ("", ())
        return self._update(job_id, where, params, status=FAILED, stage="failed",
                            error_code=code, error_message=message, error_hint=hint)

    def delete(self, job_id: str) -> bool:
        with self.connect() as conn:
            return conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0
