"""Bring a database to the current schema with Alembic (`migrations/`), from Python: `upgrade(url)`.

Every process that opens the database calls it (the API at start, `formcheck worker`), so two may
run it at once: it holds a lock for the whole upgrade (Postgres: a transaction-scoped advisory lock;
SQLite: BEGIN IMMEDIATE, the database's write lock) and the second one finds nothing left to do.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from formcheck.db.engine import is_sqlite, new_engine

SCRIPT_LOCATION = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock's key: any fixed number other code does not use ("formchek" in ASCII).
PG_LOCK_KEY = 0x666F726D6368656B


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, timeout_s: float = 60.0) -> None:
    """Create the tables or migrate them to the latest revision (a no-op when already there)."""
    if is_sqlite(url) and (database := make_url(url).database) and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = new_engine(url, timeout_s, pooled=False)
    config = alembic_config(url)
    try:
        with engine.connect().execution_options(sqlite_immediate=True) as connection, connection.begin():
            if not is_sqlite(url):
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
