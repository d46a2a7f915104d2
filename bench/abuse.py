"""The service under abuse (issue 18): slow uploads, a huge JSON body, a login spray and a
many-frames clip against a real server, while real uploads must still get in.

Starts `formcheck serve` in a subprocess (temporary data dir, free loopback port, one lite
worker, the request-limit settings at their defaults unless FORMCHECK_* says otherwise), polls
/healthz every 20 ms and samples the API process's RSS every 100 ms throughout, and runs:

1. slow uploads: `--slow` connections, each from its own client (X-Forwarded-For, trusted from
   loopback), sending its upload one byte every 5 s (the issue's attack); meanwhile
   `--real` real uploads of a short clip from another client must get 202. The slow ones are
   then cut off by the minimum body rate (408) once the grace time is over;
2. big JSON: a 150 MB POST /api/v1/clinic/auth/login, once with Content-Length and once
   chunked: refused with 413 after at most `max_body_bytes` are read;
3. login spray: `--spray` wrong-password logins over 20 e-mails, 8 at a time (measured only:
   how they are answered, how long they take, /healthz meanwhile; throttling is not this
   script's business);
4. many frames: the issue's 112x64, 240 fps, 890 s clip (213,600 frames in 3 MB, made with
   ffmpeg): refused (413) before it is queued.

Prints each case's answers, real uploads accepted, peak RSS against `RSS_BOUND_MB` and /healthz
p50/p99/max against p99 <= 50 ms; exit status 1 when a target is missed. Loopback only,
bounded in count and time (2.5 min measured on 2 cores at load average 15, most of it the
login spray; the slow uploads end at the rate cut-off, about 10 s).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import numpy as np

from formcheck.clips import short_clip
from server_process import free_port, start_server

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "lunge_synthetic_side.mp4"
API = "/api/v1/analyses"
LOGIN = "/api/v1/clinic/auth/login"
HEALTH_TARGET_P99_MS = 50.0
# The API process (uvicorn + FastAPI + the pose model files it checks) idles near 250 MB here;
# without the body cap one 150 MB JSON body alone took it from 243 to 683 MB.
RSS_BOUND_MB = 450.0
SLOW_BYTE_EVERY_S = 5.0
BIG_BODY_BYTES = 150_000_000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Monitor(threading.Thread):
    """/healthz latency every 20 ms and the server's RSS every 100 ms, per phase."""

    def __init__(self, url: str, pid: int) -> None:
        super().__init__(daemon=True)
        self.url, self.pid = url, pid
        self.phase = "idle"
        self.health_ms: dict[str, list[float]] = {}
        self.health_errors = 0
        self.rss: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        next_rss = 0.0
        with httpx2.Client(timeout=5) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get(f"{self.url}/healthz").status_code == 200
                except httpx2.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                if ok:
                    self.health_ms.setdefault(self.phase, []).append(elapsed)
                else:
                    self.health_errors += 1
                if time.monotonic() >= next_rss:
                    self.rss.append(rss_mb(self.pid))
                    next_rss = time.monotonic() + 0.1
                time.sleep(max(0.0, 0.02 - elapsed / 1000))

    def all_ms(self) -> list[float]:
        return [ms for values in self.health_ms.values() for ms in values]


def percentiles(values: list[float]) -> str:
    if not values:
        return "no polls"
    return (f"p50 {np.percentile(values, 50):.1f} ms, p99 {np.percentile(values, 99):.1f} ms, "
            f"max {max(values):.1f} ms ({len(values)} polls)")


def read_status(sock: socket.socket) -> int | None:
    """The status of the server's answer on `sock`, None when it closed without one."""
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            data += chunk
    except OSError:
        return None
    return int(data.split()[1])


def slow_uploads(port: int, count: int, real: int, clip: Path, monitor: Monitor) -> tuple[Counter, Counter, float]:
    """`count` uploads a byte every 5 s, each from its own client; `real` real uploads meanwhile.

    Returns the slow connections' answers, the real uploads' answers, and how long the slow ones lasted.
    """
    monitor.phase = "slow uploads"
    boundary = "abuse"
    socks = []
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        client_ip = f"10.9.{i // 250}.{i % 250 + 1}"
        head = (f"POST {API} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: {client_ip}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 5000000\r\n\r\n")
        part = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.mp4"\r\n\r\n'
        sock.sendall((head + part).encode())
        socks.append(sock)
    started = time.monotonic()
    time.sleep(1.0)
    real_answers: Counter = Counter()
    with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for _ in range(real):
            response = client.post(API, files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")},
                                   headers={"X-Forwarded-For": "10.8.0.1"})
            real_answers[f"{response.status_code} {response.json().get('code', '')}".strip()] += 1
            if response.status_code == 202:  # the point is admission, not analysis: keep the CPU for the rest
                client.delete(f"{API}/{response.json()['id']}")

    answers: Counter = Counter()
    open_socks = list(socks)
    feeder_stop = threading.Event()

    def feed() -> None:  # one byte every 5 s on every connection still open
        while not feeder_stop.wait(SLOW_BYTE_EVERY_S):
            for sock in list(open_socks):
                try:
                    sock.sendall(b"\0")
                except OSError:
                    pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    with ThreadPoolExecutor(max_workers=count) as pool:
        for status in pool.map(read_status, socks):
            answers[status if status is not None else "closed"] += 1
    feeder_stop.set()
    for sock in socks:
        sock.close()
    return answers, real_answers, time.monotonic() - started


def big_json(port: int, monitor: Monitor) -> dict[str, str]:
    """150 MB login bodies: how far the server let each get, and what it answered."""
    monitor.phase = "big JSON"
    results = {}
    for mode in ("content-length", "chunked"):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        framing = (f"Content-Length: {BIG_BODY_BYTES}" if mode == "content-length" else "Transfer-Encoding: chunked")
        sock.sendall(f"POST {LOGIN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
                     .encode())
        block = b"x" * (1 << 20)
        sent = 0
        try:
            while sent < BIG_BODY_BYTES:
                sock.sendall(block if mode == "content-length" else b"%x\r\n%s\r\n" % (len(block), block))
                sent += len(block)
        except OSError:
            pass  # the server answered and closed
        status = read_status(sock)
        sock.close()
        results[mode] = f"{status}, {sent / 1e6:.0f} MB sent before the server stopped reading"
    return results


def login_spray(url: str, attempts: int, monitor: Monitor) -> tuple[Counter, float]:
    monitor.phase = "login spray"

    def attempt(i: int) -> int:
        with httpx2.Client(timeout=60) as client:
            return client.post(f"{url}{LOGIN}", json={"email": f"user{i % 20}@example.org",
                                                      "password": f"wrong-{i}-password"},
                               headers={"X-Forwarded-For": f"10.7.0.{i % 200 + 1}"}).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = Counter(pool.map(attempt, range(attempts)))
    return answers, time.monotonic() - started


def many_frames_clip(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:size=112x64:rate=240",
                    "-t", "890", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
                   check=True)
    return path


def many_frames(url: str, clip: Path, monitor: Monitor) -> str:
    monitor.phase = "many frames"
    response = httpx2.post(f"{url}{API}", files={"file": ("many.mp4", clip.read_bytes(), "video/mp4")}, timeout=60)
    body = response.json()
    return f"{response.status_code} {body.get('code')}: {body.get('message')}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=32, help="slow upload connections (default 32)")
    parser.add_argument("--real", type=int, default=3, help="real uploads while they are open (default 3)")
    parser.add_argument("--spray", type=int, default=40, help="wrong-password logins (default 40)")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="formcheck-abuse-") as tmp:
        tmp_path = Path(tmp)
        clip = short_clip(SAMPLE, tmp_path / "clip.mp4", 2.0, 320)
        heavy = many_frames_clip(tmp_path / "many_frames.mp4")
        data = tmp_path / "data"
        data.mkdir()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(data, port)
        monitor = Monitor(url, server.pid)
        try:
            monitor.start()
            time.sleep(1.0)
            idle_rss = rss_mb(server.pid)
            slow, real, slow_s = slow_uploads(port, args.slow, args.real, clip, monitor)
            big = big_json(port, monitor)
            spray, spray_s = login_spray(url, args.spray, monitor)
            frames = many_frames(url, heavy, monitor)
            monitor.phase = "after"
            time.sleep(1.0)
        finally:
            monitor.stop.set()
            monitor.join(timeout=10)
            server.terminate()
            server.wait(timeout=30)

    accepted = real.get("202", 0)
    peak_rss = max(monitor.rss, default=float("nan"))
    all_ms = monitor.all_ms()
    p99 = float(np.percentile(all_ms, 99)) if all_ms else float("nan")
    print(f"machine load average (1 min) at the start {load_before:.1f}, at the end {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores (other work on the machine shows in the latencies)")
    print(f"slow uploads ({args.slow} clients, 1 byte / {SLOW_BYTE_EVERY_S:.0f} s): answers {dict(slow)} "
          f"after {slow_s:.1f} s")
    print(f"real uploads meanwhile: {dict(real)} -> {accepted}/{args.real} accepted")
    for mode, result in big.items():
        print(f"150 MB JSON login ({mode}): {result}")
    print(f"login spray: {args.spray} wrong passwords, 8 at a time, {spray_s:.1f} s: answers {dict(spray)}")
    print(f"many-frames clip (112x64, 240 fps, 890 s): {frames}")
    print(f"server RSS: idle {idle_rss:.0f} MB, peak {peak_rss:.0f} MB (bound {RSS_BOUND_MB:.0f} MB)")
    for phase, values in monitor.health_ms.items():
        print(f"/healthz during {phase}: {percentiles(values)}")
    print(f"/healthz overall: {percentiles(all_ms)}, errors {monitor.health_errors} "
          f"(target p99 <= {HEALTH_TARGET_P99_MS:.0f} ms)")
    met = {
        "real uploads accepted": accepted == args.real,
        "slow uploads cut off (408)": slow.get(408, 0) == args.slow,
        "big bodies refused (413)": all(result.startswith("413") for result in big.values()),
        "many-frames clip refused (413)": frames.startswith("413"),
        f"RSS < {RSS_BOUND_MB:.0f} MB": peak_rss < RSS_BOUND_MB,
        f"/healthz p99 <= {HEALTH_TARGET_P99_MS:.0f} ms": p99 <= HEALTH_TARGET_P99_MS and not monitor.health_errors,
    }
    for name, ok in met.items():
        print(f"{'ok  ' if ok else 'MISS'} {name}")
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
