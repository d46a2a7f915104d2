"""Alembic's environment: migrations run on the connection `formcheck.db.migrate.upgrade` hands over
(already in a transaction that holds the migration lock), or on one of their own for the alembic CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from formcheck.db.tables import metadata


def run_migrations(connection: Connection) -> None:
    # render_as_batch: later revisions that alter columns work on SQLite too (copy-and-move)
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    with create_engine(context.config.get_main_option("sqlalchemy.url") or "").begin() as own:
        run_migrations(own)
