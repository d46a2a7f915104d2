"""Helpers of the page tests (test_web_pages, test_review_tools): upload through the API, wait on
the page without string evaluation (the pages' Content-Security-Policy forbids eval, which
Playwright's wait_for_function uses), and the scan for raw keys and placeholders."""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from pathlib import Path

ANALYSIS_TIMEOUT_S = 400  # the machine is shared; the lite model needs ~40 s for a 14 s clip alone

# What no person should read: an analysis key (snake_case), a null, None, NaN or undefined, an
# object printed as text, the garbled evidence line of old reports.
PLACEHOLDER = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\bnull\b|\bNone\b|\bNaN\b|\bundefined\b|\[object "
                         r"|(?i:coaching default: coaching default)")


def placeholders(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Raw keys and placeholder words in `text` (each with some context), ignoring `allowed` strings."""
    for word in allowed:
        text = text.replace(word, " ")
    return [text[max(0, m.start() - 60):m.end() + 20] for m in PLACEHOLDER.finditer(text)]


def api(server, path: str, method: str = "GET", body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.url}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def upload(server, clip: Path, exercise: str = "auto") -> str:
    """POST the clip as multipart; the analysis id."""
    boundary = uuid.uuid4().hex
    parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"exercise\"\r\n\r\n{exercise}\r\n".encode(),
             f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{clip.name}\"\r\n"
             "Content-Type: video/mp4\r\n\r\n".encode(), clip.read_bytes(), f"\r\n--{boundary}--\r\n".encode()]
    request = urllib.request.Request(f"{server.url}/api/v1/analyses", data=b"".join(parts), method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)["id"]


def wait_done(server, job_id: str) -> dict:
    deadline = time.monotonic() + ANALYSIS_TIMEOUT_S
    while time.monotonic() < deadline:
        job = api(server, f"/api/v1/analyses/{job_id}")
        if job["status"] == "done":
            return job
        assert job["status"] != "failed", f"{job['error']}\n{server.log()}"
        time.sleep(1)
    raise AssertionError(f"{job_id} not done after {ANALYSIS_TIMEOUT_S} s\n{server.log()}")


def wait_until(page, expression: str, timeout_s: float = 30, arg=None):
    """Poll `expression` (a JS function source) with page.evaluate until it returns a truthy value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {expression}")
        time.sleep(0.1)


def open_results(page, server, job_id: str) -> None:
    page.goto(f"{server.url}/#{job_id}")
    wait_until(page, "id => { const view = document.getElementById('result-view');"
                     " return !view.hidden && view.dataset.jobId === id; }", arg=job_id)
