#!/usr/bin/env python3
"""Live latency over loopback (issue #5): frame sent -> answer received on /api/v1/live.

Starts `formcheck serve`'s app with uvicorn in a subprocess on a free loopback port (a
temporary data dir), connects one WebSocket client, sends the frames of a real clip as JPEGs
(scaled to 640 px on the long side, as the live page sends them) at a fixed rate (15 fps by
default) whatever the answers do, and prints:

* round trip, frame sent -> its answer received: median and p95 (ms);
* server time per frame: `server_ms` (JPEG decode + model + analysis, in the session's thread)
  and `processing_ms` (model + analysis only): median and p95;
* frames sent, answered and dropped by the server (never queued: a frame replaced by a newer
  one before it was processed is dropped), and the target: median round trip <= 60 ms.

The clip is ../shared/samples/videos/squat_side_01.mp4 when present, else the bundled
samples/lunge_synthetic_side.mp4; shorter clips are looped. Timings depend on the machine's
other load (the 1-minute load average is printed with them).

    PYTHONPATH=src python bench/live_latency.py [--clip FILE] [--fps 15] [--seconds 20] [--model lite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import av
import cv2
import numpy as np
import websockets

from formcheck.config import MODEL_NAMES

REPO = Path(__file__).resolve().parents[1]
SHARED_CLIP = REPO.parent / "shared" / "samples" / "videos" / "squat_side_01.mp4"
BUNDLED_CLIP = REPO / "samples" / "lunge_synthetic_side.mp4"
HEADER = struct.Struct(">Id")
TARGET_MEDIAN_MS = 60.0
SEND_LONG_SIDE = 640
WARMUP_S = 1.0   # the first answers include the model's first-inference set-up


def jpeg_frames(path: Path, seconds: float, fps: float) -> list[bytes]:
    """The clip resampled to `fps` (looped to fill `seconds`), as 640-px JPEGs."""
    decoded = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            decoded.append((float(frame.time), frame.to_ndarray(format="bgr24")))
    duration = decoded[-1][0] + 1e-6
    times = np.array([t for t, _ in decoded])
    out = []
    for i in range(int(seconds * fps)):
        t = (i / fps) % duration
        image = decoded[min(int(np.searchsorted(times, t)), len(decoded) - 1)][1]
        scale = min(1.0, SEND_LONG_SIDE / max(image.shape[:2]))
        if scale < 1:
            image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                               interpolation=cv2.INTER_AREA)
        out.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes())
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "FORMCHECK_DATA_DIR": str(data_dir), "FORMCHECK_WORKERS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "formcheck.service.app:create_app", "--factory",
                                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start within 60 s")


async def run_client(url: str, frames: list[bytes], fps: float, model: str, exercise: str) -> dict:
    sent: dict[int, float] = {}
    answers: list[tuple[float, dict]] = []
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "config", "exercise": exercise, "model": model}))
        ready = json.loads(await ws.recv())
        if ready.get("type") != "ready":
            raise SystemExit(f"the server refused the session: {ready}")

        async def receive() -> None:
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "result":
                    answers.append((time.perf_counter(), message))
                    if message["seq"] == len(frames):
                        return
                elif message["type"] == "error":
                    raise SystemExit(f"server error: {message}")

        receiver = asyncio.create_task(receive())
        start = time.perf_counter()
        for i, jpeg in enumerate(frames, start=1):
            delay = start + (i - 1) / fps - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.perf_counter()
            sent[i] = now
            await ws.send(HEADER.pack(i, 1000 * (now - start)) + jpeg)
        await asyncio.wait_for(receiver, timeout=30)
    return {"sent": sent, "answers": answers, "start": start}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=SHARED_CLIP if SHARED_CLIP.exists() else BUNDLED_CLIP)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--model", default="lite", choices=MODEL_NAMES)
    parser.add_argument("--exercise", default="squat")
    args = parser.parse_args()

    frames = jpeg_frames(args.clip, args.seconds, args.fps)
    with tempfile.TemporaryDirectory(prefix="formcheck-live-bench-") as tmp:
        process, port = start_server(Path(tmp))
        try:
            run = asyncio.run(run_client(f"ws://127.0.0.1:{port}/api/v1/live", frames, args.fps,
                                         args.model, args.exercise))
        finally:
            process.terminate()
            process.wait(timeout=20)

    measured = [(t, m) for t, m in run["answers"] if run["sent"][m["seq"]] - run["start"] >= WARMUP_S]
    rtt = [1000 * (t - run["sent"][m["seq"]]) for t, m in measured]
    server = [m["server_ms"] for _, m in measured]
    model = [m["processing_ms"] for _, m in measured]
    dropped = run["answers"][-1][1]["dropped"]
    median = pct(rtt, 50)
    print(f"live latency: {args.clip.name}, JPEG {SEND_LONG_SIDE} px, {args.model} model, {args.fps:g} fps "
          f"for {args.seconds:g} s over loopback (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  frames sent {len(frames)}, answered {len(run['answers'])}, dropped by the server {dropped} "
          f"({100 * dropped / len(frames):.1f} %); the first {WARMUP_S:g} s left out of the figures")
    print(f"  {'':34}{'median':>8}{'p95':>8}")
    print(f"  {'round trip, sent -> answer (ms)':34}{median:8.1f}{pct(rtt, 95):8.1f}")
    print(f"  {'server: decode+model+analysis':34}{pct(server, 50):8.1f}{pct(server, 95):8.1f}")
    print(f"  {'server: model+analysis':34}{pct(model, 50):8.1f}{pct(model, 95):8.1f}")
    verdict = "met" if median <= TARGET_MEDIAN_MS else "NOT met"
    print(f"  target: median round trip <= {TARGET_MEDIAN_MS:g} ms: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
