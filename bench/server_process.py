"""`formcheck serve` for the service benchmarks (abuse.py, load.py): a free loopback port, the
server's output in <data dir>/server.log, returned once /healthz answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, port: int, workers: int = 1, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The lite model, `workers` analysis processes, this process's environment plus `env`."""
    log = open(data_dir / "server.log", "wb")  # closed by the child's exit
    process = subprocess.Popen(
        [sys.executable, "-m", "formcheck.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(data_dir), "--workers", str(workers), "--model", "lite"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {(data_dir / 'server.log').read_text()[-2000:]}")
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start within {START_TIMEOUT_S} s")
