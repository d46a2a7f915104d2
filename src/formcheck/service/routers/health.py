"""Liveness and readiness probes."""

from __future__ import annotations

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


@router.get("/readyz", response_model=Health, summary="Readiness: database reachable, pose model present",
            responses={503: {"model": Health}})
def readyz(settings: SettingsDep, store: StoreDep) -> Health | JSONResponse:
    checks: dict[str, str] = {}
    try:
        store.ping()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"unavailable: {exc}"
    try:
        checks["model"] = f"ok ({resolve_model(settings.model).name})"
    except FormcheckError as exc:
        checks["model"] = f"missing: {exc.message}"
    ok = all(v.startswith("ok") for v in checks.values())
    body = Health(status="ok" if ok else "unavailable", checks=checks)
    return body if ok else JSONResponse(body.model_dump(), status_code=503)
