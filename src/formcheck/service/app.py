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
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from formcheck import __version__
from formcheck.clinic.service import ClinicService, purge_periodically
from formcheck.clinic.settings import ClinicSettings
from formcheck.errors import FormcheckError
from formcheck.service import access_log
from formcheck.service.errors import StorageFullError
from formcheck.service.jobs import JobManager
from formcheck.service.limits import RequestLimitsMiddleware
from formcheck.service.routers import analyses, clinic_auth, clinic_reports, clinic_share, health, live, web
from formcheck.service.routers import clinic as clinic_routes
from formcheck.service.security import SecurityHeadersMiddleware
from formcheck.service.settings import ServiceSettings
from formcheck.service.store import JobStore, is_busy, is_disk_full
from formcheck.service.worker import DISK_FULL, Analyze, pipeline_analysis

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, hint: str = "", headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "hint": hint}, status_code=status, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        if getattr(route, "methods", None) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods)


def create_app(settings: ServiceSettings | None = None, clinic_settings: ClinicSettings | None = None,
               analyze: Analyze = pipeline_analysis) -> FastAPI:
    """`analyze`: what each analysis job runs (`formcheck.pipeline.analyze_video`; tests pass a faster one)."""
    settings = settings or ServiceSettings()
    store = JobStore(settings.db_url, timeout_s=settings.db_timeout_s)
    manager = JobManager(settings, store, analyze)
    clinic = ClinicService(clinic_settings or ClinicSettings(), manager, settings.db_url, settings.db_timeout_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        access_log.install()  # share tokens never reach the access log (uvicorn has set up its loggers by now)
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
        docs_url=None,  # /docs and /redoc are served by routers/web.py from files the app ships
        redoc_url=None,
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

    @app.exception_handler(StorageFullError)
    async def storage_full(request: Request, exc: StorageFullError) -> JSONResponse:
        return _error(exc.http_status, exc.code, exc.message, exc.hint,
                      headers={"Retry-After": str(settings.storage_retry_after_s)})

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> JSONResponse:
        if exc.errno not in DISK_FULL:
            raise exc
        log.error("%s %s: disk full: %s", request.method, request.url.path, exc)
        return await storage_full(request, StorageFullError())

    @app.exception_handler(OperationalError)
    async def database_error(request: Request, exc: OperationalError) -> JSONResponse:
        """The database's word for a full disk or a failed write becomes 507; a lock held too long 503."""
        if is_busy(exc):
            return _error(503, "database_busy", "The database is busy (locked by another process).",
                          "Try again in a few seconds.", headers={"Retry-After": str(settings.retry_after_s)})
        log.error("%s %s: database error: %s", request.method, request.url.path, exc.orig)
        if is_disk_full(exc):
            return await storage_full(request, StorageFullError(
                "The server could not write to its database (disk full or failing); nothing was saved."))
        return _error(500, "internal_error", "The database answered with an error.",
                      "Try again; if it persists, tell the operator.")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid request')}",
                      "See /docs for the API.")

    app.include_router(health.router)
    app.include_router(analyses.router)
    app.include_router(analyses.exercises_router)
    app.include_router(clinic_auth.router)
    app.include_router(clinic_routes.router)
    app.include_router(clinic_share.router)
    app.include_router(clinic_reports.router)
    app.include_router(live.router)
    app.include_router(web.router)
    app.mount("/static/vendor", StaticFiles(directory=web.VENDOR_DIR), name="vendor")
    app.mount("/static", StaticFiles(directory=web.WEB_DIR), name="static")
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes, idle_timeout_s=settings.body_idle_timeout_s,
                       min_rate_bytes_s=settings.min_body_rate_bytes_s, rate_grace_s=settings.body_rate_grace_s)
    app.add_middleware(SecurityHeadersMiddleware, hsts_max_age_s=settings.hsts_max_age_s)  # outermost: on every answer
    return app
