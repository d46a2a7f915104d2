"""The schema: the jobs table and the clinic's tables in one MetaData (Alembic compares it with the database).

Timestamps are ISO 8601 text (UTC) and flags 0/1 integers, as the SQLite-only releases stored them, so
an upgraded database keeps its rows as they are and string comparison orders timestamps on both backends.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, Table, Text

metadata = MetaData()


def _clinician_fk() -> Column:
    return Column("clinician_id", Text, ForeignKey("clinicians.id", ondelete="CASCADE"), nullable=False)


jobs = Table(
    "jobs", metadata,
    Column("id", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("exercise", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("input_name", Text, nullable=False),
    Column("file_name", Text, nullable=False, server_default=""),
    Column("progress", Float, nullable=False, server_default="0"),
    Column("stage", Text, nullable=False, server_default=""),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error_code", Text),
    Column("error_message", Text),
    Column("error_hint", Text),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Column("leg_length_left_cm", Float),   # per-upload scale: ASIS to medial malleolus, cm
    Column("leg_length_right_cm", Float),
    Column("marker_size_cm", Float),       # side of the printed ArUco floor marker, cm
    Column("subject", Text),               # who to analyse (pose.tracking.SubjectHint); NULL = auto
    Index("jobs_status", "status"),
)

clinicians = Table(
    "clinicians", metadata,
    Column("id", Text, primary_key=True),
    Column("email", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False, server_default=""),
    Column("password_hash", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("totp_secret", Text),
    Column("totp_pending", Text),
    Column("totp_last_step", Integer, nullable=False, server_default="0"),
)

clinic_sessions = Table(
    "clinic_sessions", metadata,
    Column("token_hash", Text, primary_key=True),
    _clinician_fk(),
    Column("kind", Text, nullable=False),  # bearer | cookie
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
)

clinic_api_keys = Table(
    "clinic_api_keys", metadata,
    Column("id", Text, primary_key=True),
    _clinician_fk(),
    Column("label", Text, nullable=False, server_default=""),
    Column("prefix", Text, nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),
    Column("last_used_at", Text),
    Column("revoked_at", Text),
    Column("scope", Text, nullable=False, server_default="write"),
    Column("expires_at", Text),
)

athletes = Table(
    "athletes", metadata,
    Column("id", Text, primary_key=True),
    _clinician_fk(),
    Column("name", Text, nullable=False),
    Column("birth_year", Integer),
    Column("leg_length_left_cm", Float),
    Column("leg_length_right_cm", Float),
    Column("dominant_leg", Text),
    Column("injury_notes", Text, nullable=False, server_default=""),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Index("athletes_owner", "clinician_id"),
)

screenings = Table(
    "screenings", metadata,
    Column("id", Text, primary_key=True),
    Column("athlete_id", Text, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
    _clinician_fk(),
    Column("date", Text, nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    Column("created_at", Text, nullable=False),
    Column("skipped_steps", Text, nullable=False, server_default="[]"),  # JSON list of protocol step keys
    Index("screenings_athlete", "athlete_id"),
)

screening_tests = Table(
    "screening_tests", metadata,
    Column("id", Text, primary_key=True),
    Column("screening_id", Text, ForeignKey("screenings.id", ondelete="CASCADE"), nullable=False),
    _clinician_fk(),
    Column("kind", Text, nullable=False),
    Column("leg", Text),
    Column("direction", Text),
    Column("job_id", Text),  # the analysis job (jobs.id) of the clip; no foreign key: jobs are purged apart
    Column("file_name", Text, nullable=False, server_default=""),
    Column("manual_trials", Text, nullable=False, server_default="[]"),
    Column("video_purged", Integer, nullable=False, server_default="0"),
    Column("created_at", Text, nullable=False),
    Column("view_accepted", Integer, nullable=False, server_default="0"),
    Column("confirmed_leg", Text),
    Column("notes", Text, nullable=False, server_default=""),
    Index("tests_screening", "screening_id"),
    Index("tests_job", "job_id"),
)

share_links = Table(
    "share_links", metadata,
    Column("id", Text, primary_key=True),
    _clinician_fk(),
    Column("screening_id", Text, ForeignKey("screenings.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("revoked_at", Text),
    Column("include_history", Integer, nullable=False, server_default="0"),
    Column("include_notes", Integer, nullable=False, server_default="0"),
)

password_resets = Table(
    "password_resets", metadata,
    Column("token_hash", Text, primary_key=True),
    _clinician_fk(),
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
)

# Kept after the athlete is deleted, so no foreign key to them.
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _clinician_fk(),
    Column("athlete_id", Text, nullable=False),
    Column("action", Text, nullable=False),  # viewed | exported | shared | deleted
    Column("what", Text, nullable=False, server_default=""),
    Column("actor", Text, nullable=False, server_default=""),
    Column("at", Text, nullable=False),
    Index("audit_owner", "clinician_id", "athlete_id"),
    sqlite_autoincrement=True,
)
