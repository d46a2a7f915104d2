"""Liveness and readiness probes."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from formcheck.errors import FormcheckError
from formcheck.pose.models import resolve_model
from formcheck.service.deps import SettingsDep, StoreDep
from formcheck.service.models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> Health:  # answered in the event loop: never waits behind the thread pool
    return Health(status="ok")


# Written and removed by /readyz: the data dir takes writes (free space alone misses quotas,
# file-size limits and read-only mounts).
WRITE_PROBE = ".readyz-write-probe"


def disk_check(data_dir: Path, min_free_mb: float) -> str:
    """'ok (N MB free)', or why the data dir cannot take more uploads and results."""
    probe = data_dir / WRITE_PROBE
    try:
        free_mb = shutil.disk_usage(data_dir).free / 1e6
        probe.write_bytes(b"\0" * 4096)
    except OSError as exc:
        return f"not writable: {exc}"
    finally:
        probe.unlink(missing_ok=True)
    if free_mb < min_free_mb:
        return f"low: {free_mb:.0f} MB free, below the {min_free_mb:.0f} MB threshold (FORMCHECK_MIN_FREE_DISK_MB)"
    return f"ok ({free_mb:.0f} MB free)"


@router.get("/readyz", response_model=Health,
            summary="Readiness: database reachable, pose model present, free disk space above the threshold",
            responses={503: {"model": Health}})
def readyz(settings: SettingsDep, store: StoreDep) -> Health | JSONResponse:
    checks: dict[str, str] = {}
    try:
        store.ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable: {exc}"
    try:
        checks["model"] = f"ok ({resolve_model(settings.model).name})"
    except FormcheckError as exc:
        checks["model"] = f"missing: {exc.message}"
    checks["disk"] = disk_check(settings.data_dir, settings.min_free_disk_mb)
    ok = all(v.startswith("ok") for v in checks.values())
    body = Health(status="ok" if ok else "unavailable", checks=checks)
    return body if ok else JSONResponse(body.model_dump(), status_code=503)
