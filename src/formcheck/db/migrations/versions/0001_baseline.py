"""Baseline: today's schema, on an empty database or on one made by a release before Alembic.

Those releases created the tables themselves (`CREATE TABLE IF NOT EXISTS`, then `ALTER TABLE ... ADD
COLUMN` for the columns added since: the jobs table's scale columns, clinic migrations 1-4 counted in
`clinic_schema`). So this revision looks at what exists: it creates the missing tables and indexes, adds
the missing columns (old rows get the column's default, or NULL) and drops `clinic_schema`.

The schema is frozen here, not imported from `formcheck.db.tables`: later revisions change that module
and add their own steps.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, Table, Text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def baseline() -> MetaData:
    meta = MetaData()

    def _clinician_fk() -> Column:
        return Column("clinician_id", Text, ForeignKey("clinicians.id", ondelete="CASCADE"), nullable=False)

    Table(
        "jobs", meta,
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

    Table(
        "clinicians", meta,
        Column("id", Text, primary_key=True),
        Column("email", Text, nullable=False, unique=True),
        Column("name", Text, nullable=False, server_default=""),
        Column("password_hash", Text, nullable=False),
        Column("created_at", Text, nullable=False),
        Column("totp_secret", Text),
        Column("totp_pending", Text),
        Column("totp_last_step", Integer, nullable=False, server_default="0"),
    )

    Table(
        "clinic_sessions", meta,
        Column("token_hash", Text, primary_key=True),
        _clinician_fk(),
        Column("kind", Text, nullable=False),  # bearer | cookie
        Column("created_at", Text, nullable=False),
        Column("expires_at", Text, nullable=False),
    )

    Table(
        "clinic_api_keys", meta,
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

    Table(
        "athletes", meta,
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

    Table(
        "screenings", meta,
        Column("id", Text, primary_key=True),
        Column("athlete_id", Text, ForeignKey("athletes.id", ondelete="CASCADE"), nullable=False),
        _clinician_fk(),
        Column("date", Text, nullable=False),
        Column("notes", Text, nullable=False, server_default=""),
        Column("created_at", Text, nullable=False),
        Column("skipped_steps", Text, nullable=False, server_default="[]"),  # JSON list of protocol step keys
        Index("screenings_athlete", "athlete_id"),
    )

    Table(
        "screening_tests", meta,
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

    Table(
        "share_links", meta,
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

    Table(
        "password_resets", meta,
        Column("token_hash", Text, primary_key=True),
        _clinician_fk(),
        Column("created_at", Text, nullable=False),
        Column("expires_at", Text, nullable=False),
    )

    # Kept after the athlete is deleted, so no foreign key to them.
    Table(
        "audit_log", meta,
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

    return meta


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for table in baseline().sorted_tables:  # parents first: foreign keys name existing tables
        if table.name not in existing:
            table.create(bind)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                default = column.server_default.arg if column.server_default is not None else None  # type: ignore[attr-defined]
                op.add_column(table.name, Column(column.name, column.type, nullable=column.nullable,
                                                 server_default=default))
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(bind)
    if "clinic_schema" in existing:
        op.drop_table("clinic_schema")


def downgrade() -> None:
    for table in reversed(baseline().sorted_tables):
        op.drop_table(table.name)
