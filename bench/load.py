"""The service under load (issue #6, item 3): concurrent uploads on loopback, /healthz latency
throughout, and every upload accounted for.

Starts `formcheck serve` in a subprocess (temporary data dir, free loopback port, lite model,
`--max-queued` as FORMCHECK_MAX_QUEUED), fires `--uploads` concurrent uploads of one short
clip, polls /healthz every `--health-interval-ms` from the first upload until every accepted
job has finished, then prints:

* uploads: accepted (202), refused with 429 or 503 *and* a Retry-After header, anything else;
* jobs: accepted ones done, failed (with their codes) and lost (not finished within `--timeout`);
* /healthz latency p50 / p99 / max over the whole run, next to the target p99 <= 50 ms.

`--postgres` (issue 15): the scaled-out service instead. Postgres and SeaweedFS (S3) are started on
loopback (tests/pg_support.py, tests/s3_support.py), the API runs no analysis (FORMCHECK_WORKERS=0)
and `--workers` separate `formcheck worker` processes (one analysis process each, their own temp
dirs) take the jobs from Procrastinate; admission limits are raised so every upload is accepted.

Targets (issue #6): every upload completes or gets 429/503 with Retry-After ("other" = 0),
nothing lost, /healthz p99 <= 50 ms. Exit status 1 when one is missed. Bounded in count and
time; loopback only. Figures depend on the machine's other load (printed with them).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import numpy as np

from formcheck.clips import short_clip
from server_process import free_port, start_server

REPO = Path(__file__).resolve().parents[1]
API = "/api/v1/analyses"
SAMPLE = REPO / "samples" / "lunge_synthetic_side.mp4"
HEALTH_TARGET_P99_MS = 50.0


@dataclass
class LoadResult:
    accepted: list[str] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)  # status -> count, with Retry-After
    other: list[str] = field(default_factory=list)  # anything else: status and body, or the exception
    done: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # error code -> count
    lost: list[str] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    health_errors: int = 0
    wall_s: float = 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.health_ms, q)) if self.health_ms else float("nan")

    @property
    def targets_met(self) -> bool:
        return (not self.other and not self.lost and not self.failed and self.health_errors == 0
                and self.percentile(99) <= HEALTH_TARGET_P99_MS)


def server_env(max_queued: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"FORMCHECK_MAX_QUEUED": str(max_queued), "FORMCHECK_PROGRESS_INTERVAL_S": "0.5", **(extra or {})}


def start_workers(data: Path, count: int, env: dict[str, str]) -> list[subprocess.Popen]:
    """`count` `formcheck worker` processes (one analysis process each), each with its own data dir."""
    workers = []
    for i in range(count):
        folder = data / f"worker{i}"
        folder.mkdir()
        with open(folder / "worker.log", "wb") as log:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "formcheck.cli", "worker", "--workers", "1", "--data-dir", str(folder)],
                stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **env, "FORMCHECK_MODEL": "lite", "FORMCHECK_PROGRESS_INTERVAL_S": "0.5"}))
    return workers


def scaled_out(data: Path, uploads: int) -> Iterator[dict[str, str]]:
    """Postgres + SeaweedFS on loopback; the FORMCHECK_* variables of the scaled-out service."""
    sys.path.insert(0, str(REPO / "tests"))
    from pg_support import postgres_server
    from s3_support import seaweed_server

    with postgres_server() as pg, seaweed_server() as s3:
        pg.create_database("formcheck")
        yield {"FORMCHECK_DATABASE_URL": pg.url("formcheck"), **s3.env(s3.new_bucket()),
               "FORMCHECK_MAX_UPLOADS_PER_CLIENT": str(uploads)}


def run_load(url: str, clip: Path, uploads: int, timeout_s: float, health_interval_s: float = 0.02) -> LoadResult:
    """Concurrent uploads against a running server; /healthz polled until every accepted job ends."""
    result = LoadResult()
    lock = threading.Lock()
    stop = threading.Event()
    body = clip.read_bytes()

    def poll_health() -> None:
        with httpx2.Client(timeout=5) as client:
            while not stop.is_set():
                start = time.perf_counter()
                try:
                    ok = client.get(f"{url}/healthz").status_code == 200
                except httpx2.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - start) * 1000
                with lock:
                    if ok:
                        result.health_ms.append(elapsed)
                    else:
                        result.health_errors += 1
                stop.wait(health_interval_s)

    def upload(i: int) -> None:
        try:
            response = httpx2.post(f"{url}{API}", files={"file": (f"clip{i}.mp4", body, "video/mp4")}, timeout=120)
        except httpx2.HTTPError as exc:
            with lock:
                result.other.append(f"upload {i}: {exc!r}")
            return
        with lock:
            if response.status_code == 202:
                result.accepted.append(response.json()["id"])
            elif response.status_code in (429, 503) and response.headers.get("retry-after", "").isdigit():
                result.refused[response.status_code] = result.refused.get(response.status_code, 0) + 1
            else:
                result.other.append(f"upload {i}: {response.status_code} {response.text[:200]}")

    t0 = time.monotonic()
    health = threading.Thread(target=poll_health, daemon=True)
    health.start()
    pool = ThreadPoolExecutor(max_workers=uploads)
    list(pool.map(upload, range(uploads)))
    pool.shutdown()

    pending = set(result.accepted)
    deadline = t0 + timeout_s
    with httpx2.Client(timeout=10) as client:
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                job = client.get(f"{url}{API}/{job_id}").json()
                if job["status"] == "done":
                    result.done += 1
                    pending.discard(job_id)
                elif job["status"] == "failed":
                    code = job["error"]["code"]
                    result.failed[code] = result.failed.get(code, 0) + 1
                    pending.discard(job_id)
            time.sleep(0.5)
    result.lost = sorted(pending)
    stop.set()
    health.join(timeout=10)
    result.wall_s = time.monotonic() - t0
    return result


def report(result: LoadResult, uploads: int, max_queued: int, workers: int) -> str:
    refused = ", ".join(f"{n}×{status}" for status, n in sorted(result.refused.items())) or "0"
    lines = [
        f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"{uploads} concurrent uploads, {workers} worker(s), FORMCHECK_MAX_QUEUED={max_queued}, "
        f"wall {result.wall_s:.1f} s",
        f"uploads: accepted {len(result.accepted)}, refused with Retry-After {refused}, "
        f"other {len(result.other)}   (target: other 0)",
        f"jobs:    done {result.done}, failed {sum(result.failed.values())} {result.failed or ''}, "
        f"lost {len(result.lost)}   (target: every accepted job done)",
        f"/healthz: {len(result.health_ms)} polls, p50 {result.percentile(50):.1f} ms, "
        f"p99 {result.percentile(99):.1f} ms, max {max(result.health_ms, default=float('nan')):.1f} ms, "
        f"errors {result.health_errors}   (target: p99 <= {HEALTH_TARGET_P99_MS:.0f} ms)",
        f"targets {'met' if result.targets_met else 'MISSED'}",
    ]
    lines += [f"  other: {line}" for line in result.other[:10]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=50, help="concurrent uploads (default 50)")
    parser.add_argument("--max-queued", type=int, default=8, help="FORMCHECK_MAX_QUEUED of the server (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="analysis processes (default 2)")
    parser.add_argument("--clip", type=Path, default=SAMPLE, help="source clip (default the bundled sample)")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of the uploaded cut (default 2 s)")
    parser.add_argument("--width", type=int, default=480, help="width of the uploaded cut (default 480 px)")
    parser.add_argument("--timeout", type=float, default=600, help="bound on the whole run in seconds")
    parser.add_argument("--health-interval-ms", type=float, default=20)
    parser.add_argument("--postgres", action="store_true",
                        help="scaled out: Postgres + S3, the API plus --workers `formcheck worker` processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="formcheck-load-") as tmp, ExitStack() as stack:
        data = Path(tmp)
        clip = short_clip(args.clip, data / "clip.mp4", args.seconds, args.width)
        port = free_port()
        processes = []
        if args.postgres:
            env = stack.enter_context(contextmanager(scaled_out)(data, args.uploads))
            (data / "api").mkdir()
            queue = max(args.max_queued, 2 * args.uploads)
            processes.append(start_server(data / "api", port, 0, server_env(queue, env)))
            processes += start_workers(data, args.workers, env)
        else:
            processes.append(start_server(data, port, args.workers, server_env(args.max_queued)))
        try:
            result = run_load(f"http://127.0.0.1:{port}", clip, args.uploads, args.timeout,
                              args.health_interval_ms / 1000)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
        mode = "Postgres + S3, separate worker processes" if args.postgres else "embedded"
        print(f"mode: {mode}")
        print(report(result, args.uploads, max(args.max_queued, 2 * args.uploads) if args.postgres else args.max_queued,
                     args.workers))
    return 0 if result.targets_met else 1


if __name__ == "__main__":
    sys.exit(main())
