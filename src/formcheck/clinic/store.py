"""Clinic tables in the service's database (`formcheck.db`, with the jobs): clinicians, sessions,
API keys, share links, athletes, screenings and tests.

The schema is `formcheck.db.tables`, created and migrated by Alembic (`init()`). Queries are portable
SQL (SQLite and Postgres) written with `?` placeholders, bound in order. Every query that reads or
changes an athlete's data filters by the clinician who owns it, so another clinician's id is simply "not found".
Secrets (session tokens, API keys, share tokens) are stored as SHA-256 hashes only: they are
random 256-bit values, so a fast hash is enough; passwords use argon2 (`auth.py`).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.exc import IntegrityError

from formcheck.db.engine import make_engine
from formcheck.db.migrate import upgrade


def now() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def new_id() -> str:
    return uuid.uuid4().hex


def _bind(sql: str, params: tuple) -> tuple[TextClause, dict[str, Any]]:
    """The statement with its `?` placeholders as named ones (`:p0`, `:p1`, ...), and their values."""
    names = iter(range(len(params)))
    named = re.sub(r"\?", lambda _: f":p{next(names)}", sql)
    return text(named), {f"p{i}": value for i, value in enumerate(params)}


class ClinicStore:
    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.engine = make_engine(url, timeout_s)

    def init(self) -> None:
        """Create the tables or migrate an older database (`formcheck.db.migrate`)."""
        upgrade(self.url, self.timeout_s)

    # -- generic helpers (one statement, one transaction) ------------------------------------------
    def _one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        with self.engine.begin() as conn:
            row = conn.execute(*_bind(sql, params)).mappings().first()
        return dict(row) if row else None

    def _all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        with self.engine.begin() as conn:
            return [dict(r) for r in conn.execute(*_bind(sql, params)).mappings()]

    def _run(self, sql: str, params: tuple = ()) -> int:
        with self.engine.begin() as conn:
            return conn.execute(*_bind(sql, params)).rowcount

    # -- clinicians and credentials ----------------------------------------------------------------
    def create_clinician(self, email: str, name: str, password_hash: str) -> dict[str, Any] | None:
        """None when the e-mail is taken."""
        cid = new_id()
        try:
            self._run("INSERT INTO clinicians (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                      (cid, email, name, password_hash, iso(now())))
        except IntegrityError:
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
        if keep_hash is None:
            return self._run("DELETE FROM clinic_sessions WHERE clinician_id = ?", (clinician_id,))
        return self._run("DELETE FROM clinic_sessions WHERE clinician_id = ? AND token_hash <> ?",
                         (clinician_id, keep_hash))

    def add_password_reset(self, clinician_id: str, token_hash: str, expires_at: datetime) -> None:
        self._run("INSERT INTO password_resets (token_hash, clinician_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                  (token_hash, clinician_id, iso(now()), iso(expires_at)))

    def take_password_reset(self, token_hash: str) -> str | None:
        """The clinician id of a live reset token, used up by this call (None: unknown or expired)."""
        row = self._one("DELETE FROM password_resets WHERE token_hash = ? RETURNING clinician_id, expires_at",
                        (token_hash,))
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
        return self._all("SELECT * FROM athletes WHERE clinician_id = ? ORDER BY lower(name)", (clinician_id,))

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
