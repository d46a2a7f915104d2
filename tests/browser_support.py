"""Shared pieces of the browser tests: a free port, the service in a subprocess, headless Chromium.

The browser is Debian's /usr/bin/chromium driven by Python Playwright (never a downloaded
browser). Without Chromium or Playwright the browser tests skip locally with the reason;
under CI=true they fail, so a CI machine that lost its browser never passes silently.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("FORMCHECK_CHROMIUM", "/usr/bin/chromium"))
# Flags that work on a headless CI box: no sandbox (root in a container), no GPU, and no
# background traffic (there is no network at test time).
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
)
SERVER_START_TIMEOUT_S = 60.0


def _missing(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: browser tests must run; `make system-deps` installs chromium)")
    pytest.skip(message)


def require_browser() -> None:
    """Skip (locally) or fail (under CI=true) when Playwright or Debian's chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("Python playwright is not installed (pip install -e '.[test]')")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _missing(f"{CHROMIUM} is missing (Debian: apt-get install chromium, or `make system-deps` as root)")


def launch_chromium(playwright, extra_args: Sequence[str] = ()):
    """Headless Debian chromium (a fresh temporary profile per launch); `extra_args` e.g. a fake camera."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=[*CHROMIUM_ARGS, *extra_args])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningServer:
    url: str  # e.g. http://127.0.0.1:41234, no trailing slash
    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s:\n"
                       f"{log_path.read_text(errors='replace')}")


@contextmanager
def run_server(data_dir: Path, *, workers: int = 1, model: str = "lite", env: dict[str, str] | None = None,
               app: str = "formcheck.service.app:create_app", log_level: str = "warning") -> Iterator[RunningServer]:
    """The service as a real uvicorn process on a free loopback port; stopped (SIGTERM) on exit.

    A subprocess rather than a thread, so the page talks to the same server `formcheck serve`
    runs (lifespan, worker pool, real sockets). Settings go through FORMCHECK_* variables;
    `env` adds or overrides them. The server's output is in `data_dir/server.log`.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir / "server.log"
    child_env = {**os.environ, "FORMCHECK_DATA_DIR": str(data_dir), "FORMCHECK_WORKERS": str(workers),
                 "FORMCHECK_MODEL": model, "FORMCHECK_PROGRESS_INTERVAL_S": "0.2", **(env or {})}
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", log_level]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=child_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path, SERVER_START_TIMEOUT_S)
        yield RunningServer(url=url, data_dir=data_dir, log_path=log_path, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
