"""The upload page, the live page, the clinic pages and their static files (plain HTML/JS/CSS in formcheck/web, no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

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
