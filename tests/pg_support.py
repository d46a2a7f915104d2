"""A throwaway Postgres server for the tests: Debian's binaries (initdb, pg_ctl) on a temporary
directory, listening on a free loopback port; `make system-deps` installs them when missing.

    with postgres_server() as pg:
        pg.create_database("jobs_test")
        url = pg.url("jobs_test")   # postgresql+psycopg://postgres@127.0.0.1:<port>/jobs_test

Trust authentication on loopback only, no durability (fsync off): it lives as long as the test session.
Postgres refuses to run as root, so under root the server runs as the `postgres` user (the Debian
package creates it) or `nobody`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else the newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> tuple[list[str], pwd.struct_passwd | None]:
    """The command prefix that drops root (Postgres will not run as root), and that user."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], user
    raise RuntimeError("running as root and there is no postgres or nobody user to run Postgres as")


@dataclass
class PostgresServer:
    port: int
    socket_dir: Path

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create the database (a copy of `template` when given); return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
            conn.execute(statement)
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bindir = postgres_bindir()
    if bindir is None:
        raise FileNotFoundError("initdb/pg_ctl not found (PATH, /usr/lib/postgresql/*/bin): run `make system-deps`"
                                " or install Debian's postgresql package")
    prefix, user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="formcheck-pg-"))
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    data, log = root / "data", root / "server.log"
    try:
        subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER,
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, text=True)
        port = _free_port()
        options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                   " -c full_page_writes=off -c max_connections=300")
        started = subprocess.run([*prefix, str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data),
                                  "-l", str(log), "-o", options], capture_output=True, text=True)
        if started.returncode:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()}\n{server_log[-2000:]}")
        try:
            yield PostgresServer(port=port, socket_dir=root)
        finally:
            subprocess.run([*prefix, str(bindir / "pg_ctl"), "stop", "-m", "immediate", "-D", str(data)],
                           capture_output=True, check=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)
