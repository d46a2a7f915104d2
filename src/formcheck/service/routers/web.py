"""The upload page, the live page, the clinic pages, the API docs and their static files (plain
HTML/JS/CSS in formcheck/web, no build step)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
# Swagger UI and ReDoc, as the fastapi-offline package ships them: the API docs need no network.
VENDOR_DIR = Path(str(files("fastapi_offline") / "static"))

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8")


@router.get("/clinic")
def clinic_pages() -> FileResponse:
    """Login, athletes, screening wizard and reports: one page, views chosen by the URL's #fragment."""
    return FileResponse(WEB_DIR / "clinic.html", media_type="text/html; charset=utf-8")


@router.get("/live")
def live_page() -> FileResponse:
    return FileResponse(WEB_DIR / "live.html", media_type="text/html; charset=utf-8")


@router.get("/docs")
def swagger_ui() -> FileResponse:
    """Swagger UI over /openapi.json; its script and style are served by the app (/static/vendor)."""
    return FileResponse(WEB_DIR / "docs.html", media_type="text/html; charset=utf-8")


@router.get("/redoc")
def redoc() -> FileResponse:
    return FileResponse(WEB_DIR / "redoc.html", media_type="text/html; charset=utf-8")
