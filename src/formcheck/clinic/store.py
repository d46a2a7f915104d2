"""Clinic tables in the service's SQLite database (same file, WAL): clinicians, sessions, API
keys, share links, athletes, screenings and tests.

Migrations are create-if-not-exists steps numbered in `MIGRATIONS`; `clinic_schema` holds
the version reached. Every query that reads or changes an athlete's data filters by the
clinician who owns it, so another clinician's id is simply "not found".
Secrets (session tokens, API keys, share tokens) are stored as SHA-256 hashes only: they are
random 256-bit values, so a fast hash is enough; passwords use argon2 (`auth.py`).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MIGRATIONS: list[str] = [
    # 1: accounts, athletes, screenings, tests
    """
    CREATE TABLE IF NOT EXISTS clinicians (
        id            TEXT PRIMARY KEY,
        email         TEXT NOT NULL UNIQUE,
        name          TEXT NOT NULL DEFAULT '',
        password_hash TEXT NOT NULL,
        created_at    TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS clinic_sessions (
        token_hash   TEXT PRIMARY KEY,
        clinician_id TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
        kind         TEXT NOT NULL,          -- bearer | cookie
        created_at   TEXT NOT NULL,
        expires_at   TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS clinic_api_keys (
        id           TEXT PRIMARY KEY,
        clinician_id TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
        label        TEXT NOT NULL DEFAULT '',
        prefix       TEXT NOT NULL,
        key_hash     TEXT NOT NULL UNIQUE,
        created_at   TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at   TEXT
    );
    CREATE TABLE IF NOT EXISTS athletes (
        id                  TEXT PRIMARY KEY,
        clinician_id        TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
        name                TEXT NOT NULL,
        birth_year          INTEGER,
        leg_length_left_cm  REAL,
        leg_length_right_cm REAL,
        dominant_leg        TEXT,
        injury_notes        TEXT NOT NULL DEFAULT '',
        created_at          TEXT NOT NULL,
        updated_at          TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS athletes_owner ON athletes(clinician_id);
    CREATE TABLE IF NOT EXISTS screenings (
        id           TEXT PRIMARY KEY,
        athlete_id   TEXT NOT NULL REFERENCES athletes(id) ON DELETE CASCADE,
        clinician_id TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
        date         TEXT NOT NULL,
        notes        TEXT NOT NULL DEFAULT '',
        created_at   TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS screenings_athlete ON screenings(athlete_id);
    CREATE TABLE IF NOT EXISTS screening_tests (
        id            TEXT PRIMARY KEY,
        screening_id  TEXT NOT NULL REFERENCES screenings(id) ON DELETE CASCADE,
        clinician_id  TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
        kind          TEXT NOT NULL,
        leg           TEXT,
        direction     TEXT,
        job_id        TEXT,                  -- the service's analysis job (jobs.id) of the clip
        file_name     TEXT NOT NULL DEFAULT '',
        manual_trials TEXT NOT NULL DEFAULT '[]',
        video_purged  INTEGER NOT NULL DEFAULT 0,
        created_at    TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS tests_screening ON screening_tests(screening_id);
    CREATE INDEX IF NOT EXISTS tests_job ON screening_tests(job_id);
    CREATE TABLE IF NOT EXISTS share_links (
        id           TEXT PRIMARY KEY,
        clinician_id TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
        screening_id TEXT NOT NULL REFERENCES screenings(id) ON DELETE CASCADE,
        token_hash   TEXT NOT NULL UNIQUE,
        created_at   TEXT NOT NULL,
        expires_at   TEXT NOT NULL,
        revoked_at   TEXT
    );
    """,
    # the clinician's word on a clip: its camera view accepted although the test needs another;
    # the leg that stood (mSEBT) or worked (lunge, step-up), confirmed or corrected
    """
    ALTER TABLE screening_tests ADD COLUMN view_accepted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE screening_tests ADD COLUMN confirmed_leg TEXT;
    """,
    # hardening (issue 18): scoped, expiring API keys; what a share link shows; password resets;
    # a second factor; the audit log (kept after the athlete is deleted, so no foreign key to them)
    """
    ALTER TABLE clinic_api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'write';
    ALTER TABLE clinic_api_keys ADD COLUMN expires_at TEXT;
    ALTER TABLE share_links ADD COLUMN include_history INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE share_links ADD COLUMN include_notes INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE clinicians ADD COLUMN totp_secret TEXT;
    ALTER TABLE clinicians ADD COLUMN totp_pending TEXT;
    ALTER TABLE clinicians ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE IF NOT EXISTS password_resets (
        token_hash   TEXT PRIMARY KEY,
        clinician_id TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
        created_at   TEXT NOT NULL,
        expires_at   TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS audit_log (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        clinician_id TEXT NOT NULL REFERENCES clinicians(id) ON DELETE CASCADE,
        athlete_id   TEXT NOT NULL,
        action       TEXT NOT NULL,          -- viewed | exported | shared | deleted
        what         TEXT NOT NULL DEFAULT '',
        actor        TEXT NOT NULL DEFAULT '',
        at           TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS audit_owner ON audit_log(clinician_id, athlete_id);
    """,
    # the wizard (issue 17): protocol steps skipped for now (JSON list of step keys), kept with the
    # screening so a new session remembers them; the clinician's note on each test
    """
    ALTER TABLE screenings ADD COLUMN skipped_steps TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE screening_tests ADD COLUMN notes TEXT NOT NULL DEFAULT '';
    """,
]


def now() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def new_id() -> str:
    return uuid.uuid4().hex


class ClinicStore:
    def __init__(self, db_path: Path, timeout_s: float = 10.0) -> None:
        self.db_path = Path(db_path)
        self.timeout_s = timeout_s

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=self.timeout_s, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        finally:
            conn.close()

    def init(self) -> int:
        """Apply the migrations not yet applied; return the schema version."""
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS clinic_schema (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM clinic_schema").fetchone()
            version = row[0] if row else 0
            for number, script in enumerate(MIGRATIONS, start=1):
                if number > version:
                    conn.executescript(script)
                    conn.execute("DELETE FROM clinic_schema")
                    conn.execute("INSERT INTO clinic_schema (version) VALUES (?)", (number,))
                    version = number
        return version

    # -- generic helpers ------------------------------------------------------------------------
    def _one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        with self.connect() as conn:
            row = conn.execute(sql, params).fetchone()
        return dict(row) if row else None

    def _all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        with self.connect() as conn:
            return [dict(r) for r in conn.execute(sql, params).fetchall()]

    def _run(self, sql: str, params: tuple = ()) -> int:
        with self.connect() as conn:
            return conn.execute(sql, params).rowcount

    # -- clinicians and credentials ----------------------------------------------------------------
    def create_clinician(self, email: str, name: str, password_hash: str) -> dict[str, Any] | None:
        """None when the e-mail is taken."""
        cid = new_id()
        try:
            self._run("INSERT INTO clinicians (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                      (cid, email, name, password_hash, iso(now())))
        except sqlite3.IntegrityError:
            return None
        return self.clinician(cid)

    def clinician(self, clinician_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM clinicians WHERE id = ?", (clinician_id,))

    def clinician_by_email(self, email: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM clinicians WHERE email = ?", (email,))

    def set_password_hash(self, clinician_id: str, password_hash: str) -> None:
        self._run("UPDATE clinicians SET password_hash = ? WHERE id = ?", (password_hash, clinician_id))

    def add_session(self, token_hash: str, clinician_id: str, kind: str, expires_at: datetime) -> None:
        self._run("INSERT INTO clinic_sessions (token_hash, clinician_id, kind, created_at, expires_at)"
                  " VALUES (?, ?, ?, ?, ?)", (token_hash, clinician_id, kind, iso(now()), iso(expires_at)))

    def session_clinician(self, token_hash: str, kind: str) -> dict[str, Any] | None:
        return self._one(
            "SELECT c.* FROM clinic_sessions s JOIN clinicians c ON c.id = s.clinician_id"
            " WHERE s.token_hash = ? AND s.kind = ? AND s.expires_at > ?", (token_hash, kind, iso(now())))

    def delete_session(self, token_hash: str) -> None:
        self._run("DELETE FROM clinic_sessions WHERE token_hash = ?", (token_hash,))

    def delete_sessions(self, clinician_id: str, keep_hash: str | None = None) -> int:
        """End every login of the clinician but `keep_hash` (the one asking); returns how many ended."""
        return self._run("DELETE FROM clinic_sessions WHERE clinician_id = ? AND token_hash IS NOT ?",
                         (clinician_id, keep_hash))

    def add_password_reset(self, clinician_id: str, token_hash: str, expires_at: datetime) -> None:
        self._run("INSERT INTO password_resets (token_hash, clinician_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                  (token_hash, clinician_id, iso(now()), iso(expires_at)))

    def take_password_reset(self, token_hash: str) -> str | None:
        """The clinician id of a live reset token, used up by this call (None: unknown or expired)."""
        with self.connect() as conn:
            row = conn.execute("DELETE FROM password_resets WHERE token_hash = ? RETURNING clinician_id, expires_at",
                               (token_hash,)).fetchone()
        return row["clinician_id"] if row and row["expires_at"] > iso(now()) else None

    def set_totp(self, clinician_id: str, *, pending: str | None = None, secret: str | None = None) -> None:
        self._run("UPDATE clinicians SET totp_pending = ?, totp_secret = ?, totp_last_step = 0 WHERE id = ?",
                  (pending, secret, clinician_id))

    def use_totp_step(self, clinician_id: str, step: int) -> bool:
        """Record the time step of an accepted code; False when it (or a later one) was already used."""
        return self._run("UPDATE clinicians SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?",
                         (step, clinician_id, step)) > 0

    def purge_expired_sessions(self) -> int:
        return self._run("DELETE FROM clinic_sessions WHERE expires_at <= ?", (iso(now()),))

    def add_api_key(self, clinician_id: str, label: str, prefix: str, key_hash: str, scope: str,
                    expires_at: datetime) -> dict[str, Any]:
        kid = new_id()
        self._run("INSERT INTO clinic_api_keys (id, clinician_id, label, prefix, key_hash, created_at, scope,"
                  " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  (kid, clinician_id, label, prefix, key_hash, iso(now()), scope, iso(expires_at)))
        return self._one("SELECT * FROM clinic_api_keys WHERE id = ?", (kid,))  # type: ignore[return-value]

    def api_keys(self, clinician_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM clinic_api_keys WHERE clinician_id = ? ORDER BY created_at", (clinician_id,))

    def revoke_api_key(self, clinician_id: str, key_id: str) -> bool:
        return self._run("UPDATE clinic_api_keys SET revoked_at = COALESCE(revoked_at, ?)"
                         " WHERE id = ? AND clinician_id = ?", (iso(now()), key_id, clinician_id)) > 0

    def api_key_clinician(self, key_hash: str) -> dict[str, Any] | None:
        """The key's clinician with `key_scope` and `key_prefix`; None when unknown, revoked or expired."""
        stamp = iso(now())
        row = self._one("SELECT c.*, k.id AS key_id, k.scope AS key_scope, k.prefix AS key_prefix"
                        " FROM clinic_api_keys k JOIN clinicians c ON c.id = k.clinician_id"
                        " WHERE k.key_hash = ? AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)",
                        (key_hash, stamp))
        if row:
            self._run("UPDATE clinic_api_keys SET last_used_at = ? WHERE id = ?", (stamp, row.pop("key_id")))
        return row

    # -- share links ------------------------------------------------------------------------------
    def add_share_link(self, clinician_id: str, screening_id: str, token_hash: str, expires_at: datetime, *,
                       include_history: bool, include_notes: bool) -> dict[str, Any]:
        sid = new_id()
        self._run("INSERT INTO share_links (id, clinician_id, screening_id, token_hash, created_at, expires_at,"
                  " include_history, include_notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  (sid, clinician_id, screening_id, token_hash, iso(now()), iso(expires_at),
                   int(include_history), int(include_notes)))
        return self._one("SELECT * FROM share_links WHERE id = ?", (sid,))  # type: ignore[return-value]

    def share_links(self, clinician_id: str, screening_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM share_links WHERE clinician_id = ? AND screening_id = ? ORDER BY created_at",
                         (clinician_id, screening_id))

    def revoke_share_link(self, clinician_id: str, link_id: str) -> bool:
        return self._run(
            "UPDATE share_links SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND clinician_id = ?",
            (iso(now()), link_id, clinician_id)) > 0

    def share_link(self, token_hash: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM share_links WHERE token_hash = ?", (token_hash,))

    # -- athletes ---------------------------------------------------------------------------------
    ATHLETE_FIELDS = ("name", "birth_year", "leg_length_left_cm", "leg_length_right_cm", "dominant_leg", "injury_notes")

    def create_athlete(self, clinician_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        aid, stamp = new_id(), iso(now())
        cols = ", ".join(self.ATHLETE_FIELDS)
        self._run(f"INSERT INTO athletes (id, clinician_id, {cols}, created_at, updated_at)"
                  f" VALUES (?, ?, {', '.join('?' * len(self.ATHLETE_FIELDS))}, ?, ?)",
                  (aid, clinician_id, *(fields.get(k) if k != "injury_notes" else fields.get(k) or ""
                                        for k in self.ATHLETE_FIELDS), stamp, stamp))
        return self.athlete(clinician_id, aid)  # type: ignore[return-value]

    def athlete(self, clinician_id: str, athlete_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM athletes WHERE id = ? AND clinician_id = ?", (athlete_id, clinician_id))

    def athletes(self, clinician_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM athletes WHERE clinician_id = ? ORDER BY name COLLATE NOCASE", (clinician_id,))

    def update_athlete(self, clinician_id: str, athlete_id: str, fields: dict[str, Any]) -> bool:
        fields = {k: v for k, v in fields.items() if k in self.ATHLETE_FIELDS}
        if not fields:
            return self.athlete(clinician_id, athlete_id) is not None
        sets = ", ".join(f"{k} = ?" for k in fields)
        return self._run(f"UPDATE athletes SET {sets}, updated_at = ? WHERE id = ? AND clinician_id = ?",
                         (*fields.values(), iso(now()), athlete_id, clinician_id)) > 0

    def delete_athlete(self, clinician_id: str, athlete_id: str) -> bool:
        """Deletes the athlete's screenings, tests and share links too (ON DELETE CASCADE)."""
        return self._run("DELETE FROM athletes WHERE id = ? AND clinician_id = ?", (athlete_id, clinician_id)) > 0

    def athlete_job_ids(self, clinician_id: str, athlete_id: str) -> list[str]:
        return [r["job_id"] for r in self._all(
            "SELECT t.job_id FROM screening_tests t JOIN screenings s ON s.id = t.screening_id"
            " WHERE s.athlete_id = ? AND t.clinician_id = ? AND t.job_id IS NOT NULL", (athlete_id, clinician_id))]

    # -- screenings and tests ---------------------------------------------------------------------
    def create_screening(self, clinician_id: str, athlete_id: str, date: str, notes: str) -> dict[str, Any]:
        sid = new_id()
        self._run("INSERT INTO screenings (id, athlete_id, clinician_id, date, notes, created_at)"
                  " VALUES (?, ?, ?, ?, ?, ?)",
                  (sid, athlete_id, clinician_id, date, notes, iso(now())))
        return self.screening(clinician_id, sid)  # type: ignore[return-value]

    def screening(self, clinician_id: str, screening_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM screenings WHERE id = ? AND clinician_id = ?", (screening_id, clinician_id))

    def screenings(self, clinician_id: str, athlete_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM screenings WHERE athlete_id = ? AND clinician_id = ? ORDER BY date, created_at",
                         (athlete_id, clinician_id))

    def delete_screening(self, clinician_id: str, screening_id: str) -> bool:
        return self._run("DELETE FROM screenings WHERE id = ? AND clinician_id = ?", (screening_id, clinician_id)) > 0

    def screening_athlete_id(self, clinician_id: str, screening_id: str) -> str | None:
        row = self._one("SELECT athlete_id FROM screenings WHERE id = ? AND clinician_id = ?",
                        (screening_id, clinician_id))
        return row["athlete_id"] if row else None

    def test_athlete_id(self, clinician_id: str, test_id: str) -> str | None:
        row = self._one("SELECT s.athlete_id FROM screening_tests t JOIN screenings s ON s.id = t.screening_id"
                        " WHERE t.id = ? AND t.clinician_id = ?", (test_id, clinician_id))
        return row["athlete_id"] if row else None

    def screening_job_ids(self, clinician_id: str, screening_id: str) -> list[str]:
        return [r["job_id"] for r in self._all(
            "SELECT job_id FROM screening_tests WHERE screening_id = ? AND clinician_id = ? AND job_id IS NOT NULL",
            (screening_id, clinician_id))]

    def create_test(self, clinician_id: str, screening_id: str, kind: str, leg: str | None, direction: str | None,
                    manual_trials: list[dict[str, Any]]) -> dict[str, Any]:
        tid = new_id()
        self._run("INSERT INTO screening_tests (id, screening_id, clinician_id, kind, leg, direction, manual_trials,"
                  " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  (tid, screening_id, clinician_id, kind, leg, direction, json.dumps(manual_trials), iso(now())))
        return self.test(clinician_id, tid)  # type: ignore[return-value]

    def test(self, clinician_id: str, test_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM screening_tests WHERE id = ? AND clinician_id = ?", (test_id, clinician_id))
        return _decode(row) if row is not None else None

    def tests(self, clinician_id: str, screening_id: str) -> list[dict[str, Any]]:
        return [_decode(r) for r in self._all(
            "SELECT * FROM screening_tests WHERE screening_id = ? AND clinician_id = ? ORDER BY created_at",
            (screening_id, clinician_id))]

    def attach_job(self, clinician_id: str, test_id: str, job_id: str, file_name: str) -> None:
        self._run("UPDATE screening_tests SET job_id = ?, file_name = ?, video_purged = 0, view_accepted = 0,"
                  " confirmed_leg = NULL WHERE id = ? AND clinician_id = ?", (job_id, file_name, test_id, clinician_id))

    def review_clip(self, clinician_id: str, test_id: str, *, view_accepted: bool | None = None,
                    confirmed_leg: str | None = None) -> None:
        """Record the clinician's word on the clip (a new clip clears it: attach_job)."""
        if view_accepted is not None:
            self._run("UPDATE screening_tests SET view_accepted = ? WHERE id = ? AND clinician_id = ?",
                      (int(view_accepted), test_id, clinician_id))
        if confirmed_leg is not None:
            self._run("UPDATE screening_tests SET confirmed_leg = ? WHERE id = ? AND clinician_id = ?",
                      (confirmed_leg, test_id, clinician_id))

    def set_skipped_steps(self, clinician_id: str, screening_id: str, steps: list[str]) -> None:
        self._run("UPDATE screenings SET skipped_steps = ? WHERE id = ? AND clinician_id = ?",
                  (json.dumps(steps), screening_id, clinician_id))

    def set_test_notes(self, clinician_id: str, test_id: str, notes: str) -> None:
        self._run("UPDATE screening_tests SET notes = ? WHERE id = ? AND clinician_id = ?",
                  (notes, test_id, clinician_id))

    def set_manual_trials(self, clinician_id: str, test_id: str, manual_trials: list[dict[str, Any]]) -> None:
        self._run("UPDATE screening_tests SET manual_trials = ? WHERE id = ? AND clinician_id = ?",
                  (json.dumps(manual_trials), test_id, clinician_id))

    def delete_test(self, clinician_id: str, test_id: str) -> bool:
        return self._run("DELETE FROM screening_tests WHERE id = ? AND clinician_id = ?", (test_id, clinician_id)) > 0

    # -- privacy ------------------------------------------------------------------------------------
    def tests_with_video(self) -> list[dict[str, Any]]:
        """Tests whose analysed clip may still have video on disk (for keep-no-video)."""
        return [_decode(r) for r in self._all(
            "SELECT t.*, j.status AS job_status FROM screening_tests t JOIN jobs j ON j.id = t.job_id"
            " WHERE t.video_purged = 0 AND j.status IN ('done', 'failed')")]

    def mark_video_purged(self, test_id: str) -> None:
        self._run("UPDATE screening_tests SET video_purged = 1 WHERE id = ?", (test_id,))

    def screenings_before(self, cutoff: datetime) -> list[dict[str, Any]]:
        """Screenings created before `cutoff` (retention)."""
        return self._all("SELECT id, clinician_id FROM screenings WHERE created_at < ?", (iso(cutoff),))

    def is_clinic_job(self, job_id: str) -> bool:
        return self._one("SELECT 1 FROM screening_tests WHERE job_id = ?", (job_id,)) is not None

    def anonymous_jobs_before(self, cutoff: datetime) -> list[str]:
        """Finished analyses uploaded before `cutoff` through the public API (no clinic test holds them)."""
        return [r["id"] for r in self._all(
            "SELECT id FROM jobs WHERE created_at < ? AND status IN ('done', 'failed')"
            " AND id NOT IN (SELECT job_id FROM screening_tests WHERE job_id IS NOT NULL)", (iso(cutoff),))]

    # -- audit log ----------------------------------------------------------------------------------
    def add_audit(self, clinician_id: str, athlete_id: str, action: str, what: str, actor: str) -> None:
        self._run("INSERT INTO audit_log (clinician_id, athlete_id, action, what, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
                  (clinician_id, athlete_id, action, what, actor, iso(now())))

    def audit(self, clinician_id: str, athlete_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Newest first; one athlete's entries or all of the clinician's."""
        where, params = ("AND athlete_id = ?", (athlete_id,)) if athlete_id else ("", ())
        return self._all(f"SELECT * FROM audit_log WHERE clinician_id = ? {where} ORDER BY id DESC LIMIT ?",
                         (clinician_id, *params, limit))


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["manual_trials"] = json.loads(row.get("manual_trials") or "[]")
    return row
