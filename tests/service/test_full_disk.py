"""A full disk (issue 18, part A), on a real filesystem, not a patched exception.

`formcheck serve` runs in a subprocess and then runs out of space in one of two real ways:
* `tmpfs`: its data dir is a small tmpfs (mounted here; needs root and mount rights, else
  skipped), filled with a file until the kernel answers ENOSPC;
* `file_size_limit`: the server's RLIMIT_FSIZE is lowered (prlimit) so that every write that
  would grow a file fails (EFBIG); works on any Linux machine.
Every write path (register, login, create athlete, upload, the job store's delete) must then
answer a JSON 507 with Retry-After, /readyz must say not ready, and everything works again once
space is back.
"""

from __future__ import annotations

import errno
import resource
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

import httpx2

from clinic_support import API as CLINIC
from clinic_support import PASSWORD
from service_support import API, SAMPLE, cut_clip, serve

# `formcheck serve` in a subprocess; a full local disk fails SQLite's writes, not those of a
# Postgres server elsewhere (the scaled-out mode)
pytestmark = [pytest.mark.jobs, pytest.mark.embedded]

TMPFS_MB = 24
SERVER_ENV = {"FORMCHECK_MIN_FREE_DISK_MB": "1", "FORMCHECK_STORAGE_RETRY_AFTER_S": "120"}


@contextmanager
def tmpfs(path: Path, size_mb: int) -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the file_size_limit case still runs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(data_dir: Path) -> Callable[[], None]:
    """Fill the filesystem of `data_dir` to the last byte; return what frees the space again."""
    # SQLite reuses the space its WAL already has: empty it first, so its next write needs new space.
    with sqlite3.connect(data_dir / "formcheck.sqlite3") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = data_dir / "filler"
    with open(filler, "wb", buffering=0) as fh:  # unbuffered: the last short write takes the last bytes
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return lambda: filler.unlink()


def limit_file_size(pid: int) -> Callable[[], None]:
    """No file of the server may grow past 1 byte any more; return what lifts the limit."""
    before = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, before[1]))
    return lambda: resource.prlimit(pid, resource.RLIMIT_FSIZE, before)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return cut_clip(SAMPLE, tmp_path_factory.mktemp("clip") / "clip.mp4", end_s=2.0, width=320)


def assert_storage_full(response: httpx2.Response, what: str) -> None:
    assert response.status_code == 507, f"{what}: {response.status_code} {response.text[:300]}"
    assert response.headers["retry-after"] == "120", what
    body = response.json()
    assert body["code"] == "storage_full" and body["message"] and body["hint"], what


@contextmanager
def data_dir_for(how: str, tmp_path: Path) -> Iterator[Path]:
    if how == "tmpfs":
        with tmpfs(tmp_path / "data", TMPFS_MB) as path:
            yield path
    else:
        yield tmp_path / "data"


@pytest.mark.parametrize("how", ["tmpfs", "file_size_limit"])
def test_every_write_path_answers_507_on_a_full_disk(tmp_path, clip, how):
    # The server's output goes nowhere: with the file-size limit it could not write its log either.
    with data_dir_for(how, tmp_path) as data_dir, serve(data_dir, SERVER_ENV, log=False) as server:
        http = httpx2.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60)
        account = {"email": "full@example.org", "password": PASSWORD, "name": "Full Disk"}
        assert http.post(f"{CLINIC}/auth/register", json=account).status_code < 300
        login = http.post(f"{CLINIC}/auth/login", json=account)
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        queued = http.post(API, files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")})
        assert queued.status_code == 202
        assert http.get("/readyz").status_code == 200

        free_again = fill(data_dir) if how == "tmpfs" else limit_file_size(server.pid)

        assert_storage_full(http.post(f"{CLINIC}/auth/register", json={**account, "email": "new@example.org"}),
                            "register")
        assert_storage_full(http.post(f"{CLINIC}/auth/login", json=account), "login")
        assert_storage_full(http.post(f"{CLINIC}/athletes", json={"name": "RUN-9"}, headers=auth), "create athlete")
        assert_storage_full(http.post(API, files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")}), "upload")
        assert_storage_full(http.delete(f"{API}/{queued.json()['id']}"), "delete analysis (job store)")
        ready = http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["disk"].startswith(("low", "not writable"))

        free_again()
        assert http.post(f"{CLINIC}/athletes", json={"name": "RUN-9"}, headers=auth).status_code == 201
        assert http.get("/readyz").status_code == 200
        assert http.delete(f"{API}/{queued.json()['id']}").status_code == 204
