"""The app factory: `create_app(settings)` (tests build their own with a temporary data dir)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from formcheck import __version__
from formcheck.errors import FormcheckError
from formcheck.service.jobs import JobManager
from formcheck.clinic.service import ClinicService, purge_periodically
from formcheck.clinic.settings import ClinicSettings
from formcheck.service.routers import analyses, clinic as clinic_routes, clinic_auth, clinic_reports, clinic_share
from formcheck.service.routers import health, web
from formcheck.service.routers import live
from formcheck.service.settings import ServiceSettings
from formcheck.service.store import JobStore

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, hint: str = "", headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "hint": hint}, status_code=status, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        if getattr(route, "methods", None) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods)


def create_app(settings: ServiceSettings | None = None, clinic_settings: ClinicSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    store = JobStore(settings.db_path, timeout_s=settings.db_timeout_s)
    manager = JobManager(settings, store)
    clinic = ClinicService(settings, clinic_settings or ClinicSettings(), store, manager)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.init()
        manager.start()  # re-queues or fails the jobs a previous process left unfinished
        clinic.start()  # clinic tables (migrations), then the privacy purge
        purge = asyncio.create_task(purge_periodically(clinic))
        log.info("formcheck service: data in %s, %d analysis worker(s)", settings.data_dir, settings.workers)
        try:
            yield
        finally:
            purge.cancel()
            manager.shutdown()

    app = FastAPI(
        title="formcheck",
        version=__version__,
        description="Upload a clip of a lunge, step-up, squat or mSEBT; get joint angles, reps and flags.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.store, app.state.manager = settings, store, manager
    app.state.clinic = clinic

    @app.exception_handler(FormcheckError)
    async def formcheck_error(request: Request, exc: FormcheckError) -> JSONResponse:
        return _error(exc.http_status, exc.code, exc.message, exc.hint, headers=getattr(exc, "headers", None))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, f"http_{exc.status_code}")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names only the first route's methods; list every route's
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return _error(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid request')}", "See /docs for the API.")

    app.include_router(health.router)
    app.include_router(analyses.router)
    app.include_router(analyses.exercises_router)
    app.include_router(clinic_auth.router)
    app.include_router(clinic_routes.router)
    app.include_router(clinic_share.router)
    app.include_router(clinic_reports.router)
    app.include_router(live.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.WEB_DIR), name="static")
    return app
