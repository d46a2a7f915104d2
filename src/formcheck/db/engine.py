"""One SQLAlchemy engine per database URL and timeout, per process, set up for its backend.

SQLite (the embedded default): a new connection per operation (NullPool, as the stores did with
sqlite3: nothing stays open on a test's temporary file), WAL so readers go on while a worker writes
(set on the engine's first connection: it is kept in the file), foreign keys on every connection
(SQLite leaves them off), and real transactions: the driver's own implicit BEGIN is
turned off and SQLAlchemy's begin emits BEGIN, or BEGIN IMMEDIATE (take the write lock up front) for a
connection with the execution option `sqlite_immediate=True`.

Postgres (`postgresql+psycopg://`): a small pool whose connections are checked before use (a restarted
server or a dropped idle connection costs a reconnect, not an error), and a lock timeout so that a write
blocked by another transaction fails like SQLite's busy timeout instead of waiting forever.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import NullPool

_engines: dict[tuple[str, float], Engine] = {}
_lock = threading.Lock()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, timeout_s: float = 10.0) -> Engine:
    """The process's engine for `url`; `timeout_s` bounds waiting for a lock or a pooled connection."""
    key = (url, timeout_s)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = new_engine(url, timeout_s)
            _engines[key] = engine
        return engine


def new_engine(url: str, timeout_s: float = 10.0, *, pooled: bool = True) -> Engine:
    """An engine of its own (not cached); `pooled=False`: every connection closes when released
    (for one-off work such as the migrations, which must not keep a database busy afterwards)."""
    if is_sqlite(url):
        return _sqlite_engine(url, timeout_s)
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # SQLAlchemy's default driver there is psycopg2: use psycopg 3
        parsed = parsed.set(drivername="postgresql+psycopg")
    return _postgres_engine(parsed, timeout_s, pooled)


def dispose_engines() -> None:
    """Close every pooled connection of this process (tests that drop their databases call this)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _set_wal(dbapi_connection: Any, timeout_s: float) -> None:
    """Switch the file to WAL, retrying while another process holds it: SQLite answers "locked" at once
    here, without waiting its busy timeout (two processes opening a new database together)."""
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _sqlite_engine(url: str, timeout_s: float) -> Engine:
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": timeout_s})

    @event.listens_for(engine, "first_connect")
    def on_first_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL is a property of the file (it stays): once per engine, not per connection (0.5 ms each)
        _set_wal(dbapi_connection, timeout_s)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN by the driver: see on_begin
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: URL, timeout_s: float, pooled: bool) -> Engine:
    # a statement waits `timeout_s` for a row or table lock, as SQLite's busy timeout (JobStore sets less per attempt)
    connect_args = {"connect_timeout": max(1, int(timeout_s)), "options": f"-c lock_timeout={int(timeout_s * 1000)}"}
    if not pooled:
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_timeout=timeout_s,
                         pool_recycle=1800, connect_args=connect_args)
