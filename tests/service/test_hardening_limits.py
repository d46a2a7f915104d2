"""Request limits (issue 18, part A): slow and huge requests, per-client upload quota, clip frame
caps, per-job wall-clock and CPU limits.

The connection-level cases run against `formcheck serve` in a subprocess (real sockets, the
h11 protocol with its header timeout); clients are told apart by X-Forwarded-For, which the
server trusts from loopback (`--forwarded-allow-ips` default).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

import httpx2
from fastapi.testclient import TestClient

from formcheck.service import create_app
from service_support import API, SAMPLE, cut_clip, poll, serve, service_settings

BOUNDARY = "limitsboundary"
# The server of this module: a queue of 2, 3 uploads per client, short timeouts.
SERVER_ENV = {
    "FORMCHECK_MAX_QUEUED": "2",
    "FORMCHECK_MAX_UPLOADS_PER_CLIENT": "3",
    "FORMCHECK_HEADER_TIMEOUT_S": "2",
    "FORMCHECK_BODY_IDLE_TIMEOUT_S": "30",
    "FORMCHECK_MIN_BODY_RATE_BYTES_S": "1000",
    "FORMCHECK_BODY_RATE_GRACE_S": "4",
}
SOCKET_TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[int]:
    with serve(tmp_path_factory.mktemp("limits"), SERVER_ENV) as running:
        yield running.port


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return cut_clip(SAMPLE, tmp_path_factory.mktemp("clip") / "clip.mp4", end_s=2.0, width=320)


def slow_upload(port: int, client_ip: str, declared_bytes: int = 200_000) -> socket.socket:
    """An upload that sends its headers and the start of the form, then (unless fed) nothing more."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
    head = (f"POST {API} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: {client_ip}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {declared_bytes}\r\n\r\n")
    part = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="slow.mp4"\r\n\r\n'
    sock.sendall(head.encode() + part.encode())
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], dict]:
    """Status, headers and JSON body of the one response on `sock` (the server closes after it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), headers, json.loads(body)


def upload(port: int, clip: Path, client_ip: str) -> httpx2.Response:
    return httpx2.post(f"http://127.0.0.1:{port}{API}", files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")},
                      headers={"X-Forwarded-For": client_ip}, timeout=60)


@pytest.mark.jobs
def test_slow_uploads_hold_no_queue_place_and_are_cut_off_below_the_minimum_rate(server, clip):
    # As many stalled uploads as the queue has places: they used to reserve them all (429 queue_full for everyone).
    stalled = [slow_upload(server, "10.0.0.1") for _ in range(2)]
    try:
        time.sleep(1.0)  # the server has started reading both bodies
        accepted = upload(server, clip, "10.0.0.1")
        assert accepted.status_code == 202, accepted.text
        httpx2.delete(f"http://127.0.0.1:{server}{API}/{accepted.json()['id']}", timeout=30)
        for sock in stalled:  # 2 bytes/s, far below 1000 bytes/s: cut off once the 4 s grace is over
            status, headers, body = read_response(sock)
            assert status == 408 and body["code"] == "request_timeout"
            assert "too slowly" in body["message"] and body["hint"]
            assert headers["connection"] == "close"
    finally:
        for sock in stalled:
            sock.close()


@pytest.mark.jobs
def test_uploads_per_client_are_capped_apart_from_the_queue(server, clip):
    stalled = [slow_upload(server, "10.0.0.2") for _ in range(3)]
    try:
        time.sleep(1.0)
        refused = upload(server, clip, "10.0.0.2")
        assert refused.status_code == 429 and refused.headers["retry-after"]
        assert refused.json()["code"] == "too_many_uploads"
        other_client = upload(server, clip, "10.0.0.3")  # another client is not held up
        assert other_client.status_code == 202, other_client.text
        httpx2.delete(f"http://127.0.0.1:{server}{API}/{other_client.json()['id']}", timeout=30)
    finally:
        for sock in stalled:
            sock.close()


@pytest.mark.jobs
def test_headers_sent_too_slowly_close_the_connection(server):
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow")  # never finished
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server (a socket timeout here fails the test)
        assert time.monotonic() - started < SOCKET_TIMEOUT_S


@pytest.mark.jobs
def test_a_huge_declared_json_body_is_refused_before_it_is_sent(server):
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(b"POST /api/v1/clinic/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 150000000\r\n\r\n{\"email\": \"")
        status, headers, body = read_response(sock)
    assert status == 413 and body["code"] == "request_too_large" and "1,048,576" in body["message"]


@pytest.mark.jobs
def test_a_chunked_json_body_is_cut_off_at_the_limit(server):
    with socket.create_connection(("127.0.0.1", server), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(b"POST /api/v1/clinic/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 256 * 1024
        try:
            for _ in range(8):  # 2 MB, twice the limit
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending
        status, _, body = read_response(sock)
    assert status == 413 and body["code"] == "request_too_large"


@pytest.mark.jobs  # ffmpeg writes the 213,600-frame file
def test_the_issue_s_many_frames_file_is_refused_with_the_reason(tmp_path):
    """112x64 at 240 fps for 890 s: 213,600 frames in 3 MB (about 33 min of pose work on one worker).
    Ten encoded seconds are repeated by stream copy (encoding all 890 s took ~10 s of CPU)."""
    ten_s, clip = tmp_path / "ten_seconds.mp4", tmp_path / "many_frames.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:size=112x64:rate=240", "-t", "10",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(ten_s)], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "88", "-i", str(ten_s), "-t", "890", "-c", "copy",
                    str(clip)], check=True)
    settings = service_settings(tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        refused = client.post(API, files={"file": ("many.mp4", clip.read_bytes(), "video/mp4")})
    assert refused.status_code == 413, refused.text
    body = refused.json()
    assert body["code"] == "clip_too_demanding"
    assert "many.mp4 has 213,600 frames" in body["message"] and "54,000" in body["message"] and body["hint"]
    assert list(settings.media_dir.iterdir()) == []


@pytest.mark.parametrize("limit, words", [
    ({"max_fps": 20}, "frames per second"),
    ({"max_frames": 30}, "the limit is 30 frames"),
    ({"max_pixel_frames": 1e6}, "pixel-frames"),
])
def test_frame_rate_and_pixel_frame_caps(tmp_path, clip, limit, words):
    with TestClient(create_app(service_settings(tmp_path, **limit))) as client:
        refused = client.post(API, files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")})
    assert refused.status_code == 413 and refused.json()["code"] == "clip_too_demanding"
    assert words in refused.json()["message"]


@pytest.mark.jobs
@pytest.mark.parametrize("limit, code, words", [
    ({"job_timeout_s": 0.5}, "job_time_limit", "longer than its"),
    ({"job_cpu_s": 1.0}, "job_cpu_limit", "CPU time"),
])
def test_a_job_over_its_time_limit_fails_with_the_reason(tmp_path, clip, limit, code, words):
    with TestClient(create_app(service_settings(tmp_path, **limit))) as client:
        created = client.post(API, files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")})
        assert created.status_code == 202
        job = poll(client, created.json()["id"], timeout=120)
        assert job["status"] == "failed", job
        assert job["error"]["code"] == code and words in job["error"]["message"] and job["error"]["hint"]
        # the slot starts a fresh process for the next job
        again = client.post(API, files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")})
        assert poll(client, again.json()["id"], timeout=120)["error"]["code"] == code
