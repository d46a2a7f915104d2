"""/api/v1/clinic/.../report: a screening's report as HTML and PDF, its metrics as CSV, a test's
angles as an OpenSim .mot; and the same report behind a share link (/share/<token>).

Thin: `ClinicService.report` gathers the data, `formcheck.clinic.reports` renders it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, HTMLResponse

from formcheck.clinic import reports
from formcheck.clinic.errors import GoneError
from formcheck.clinic.models import Clinician
from formcheck.clinic.service import ClinicService
from formcheck.clinic.share_page import render_share_error, render_share_page
from formcheck.errors import ApiError, NotFoundError
from formcheck.service.errors import InvalidParameterError
from formcheck.service.models import ErrorBody
from formcheck.service.routers.clinic_deps import ClinicDep, CurrentClinician
from formcheck.service.security import DOCUMENT_CSP

ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorBody} for status in (401, 404, 409, 410, 422)}
router = APIRouter(tags=["clinic: reports"], responses=ERRORS)
PREFIX = "/api/v1/clinic"
# The clinic page shows the report in an iframe: this origin may frame it (no other may).
REPORT_IN_CLINIC_PAGE = {
    "Content-Security-Policy": DOCUMENT_CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'"),
    "X-Frame-Options": "SAMEORIGIN"}


def _file_name(clinic: ClinicService, cid: str, screening_id: str, suffix: str) -> str:
    s = clinic.screening(cid, screening_id)
    return f"screening-{s.date.isoformat()}{suffix}"


def _pdf(report, headers: dict[str, str] | None = None) -> Response:
    name = f"screening-{report.screening.date.isoformat()}.pdf"
    return Response(reports.render_pdf(report), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', **(headers or {})})


@router.get(f"{PREFIX}/screenings/{{screening_id}}/report", response_class=HTMLResponse,
            summary="The screening's report (self-contained HTML)")
def report_html(screening_id: str, who: CurrentClinician, clinic: ClinicDep) -> HTMLResponse:
    report = clinic.report(who.id, screening_id)
    clinic.audit(who, "viewed", f"report of the screening of {report.screening.date}", athlete_id=report.athlete.id)
    return HTMLResponse(reports.render_html(report), headers=REPORT_IN_CLINIC_PAGE)


@router.get(f"{PREFIX}/screenings/{{screening_id}}/report.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}}, summary="The screening's report (PDF)")
def report_pdf(screening_id: str, who: CurrentClinician, clinic: ClinicDep) -> Response:
    report = clinic.report(who.id, screening_id)
    clinic.audit(who, "exported", f"report PDF of the screening of {report.screening.date}",
                 athlete_id=report.athlete.id)
    return _pdf(report)


@router.get(f"{PREFIX}/screenings/{{screening_id}}/metrics.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}}, summary="Every metric of the screening (long-format CSV)")
def report_csv(screening_id: str, who: CurrentClinician, clinic: ClinicDep) -> Response:
    report = clinic.report(who.id, screening_id)
    text = reports.metrics_csv(report)
    clinic.audit(who, "exported", f"metrics.csv of the screening of {report.screening.date}",
                 athlete_id=report.athlete.id)
    name = _file_name(clinic, who.id, screening_id, "-metrics.csv")
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get(f"{PREFIX}/screenings/{{screening_id}}/angles.mot", response_class=FileResponse,
            summary="One test's hip/knee/ankle angles as an OpenSim .mot (`test` needed when several are analysed)")
def screening_mot(screening_id: str, who: CurrentClinician, clinic: ClinicDep,
                  test: str | None = Query(None, description="Test id; optional when one test is analysed."),
                  ) -> FileResponse:
    done = [t.id for t in clinic.screening(who.id, screening_id).tests if t.status == "done"]
    if test is None:
        if len(done) != 1:
            raise InvalidParameterError(
                f"This screening has {len(done)} analysed tests; say which one with ?test=<id>.",
                "Analysed tests: " + (", ".join(done) or "none yet"))
        test = done[0]
    elif test not in {t.id for t in clinic.screening(who.id, screening_id).tests}:
        raise InvalidParameterError("That test is not part of this screening.", "Use a test id of this screening.")
    return _mot(clinic, who, test)


@router.get(f"{PREFIX}/tests/{{test_id}}/angles.mot", response_class=FileResponse,
            summary="The test's hip/knee/ankle angles as an OpenSim .mot")
def test_mot(test_id: str, who: CurrentClinician, clinic: ClinicDep) -> FileResponse:
    return _mot(clinic, who, test_id)


def _mot(clinic: ClinicService, who: Clinician, test_id: str) -> FileResponse:
    path = clinic.mot_path(who.id, test_id)
    clinic.audit(who, "exported", f"angles.mot of test {test_id[:8]}", test_id=test_id)
    return FileResponse(path, media_type="text/plain; charset=utf-8",
                        filename=f"angles-{test_id[:8]}.mot")


# -- the screening behind a share link (no login) ---------------------------------------------
SHARE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def _share_error(exc: ApiError) -> HTMLResponse:
    """A bad, expired or withdrawn link opened in a browser: a page saying so, not raw JSON."""
    return HTMLResponse(render_share_error(exc.message, exc.hint), status_code=exc.http_status, headers=SHARE_HEADERS)


@router.get("/share/{token}", response_class=HTMLResponse,
            summary="The athlete's page of a shared screening (plain language; read-only, expiring)")
def shared_html(token: str, clinic: ClinicDep) -> HTMLResponse:
    try:
        report = clinic.shared_report(token, "page")
    except (NotFoundError, GoneError) as exc:
        return _share_error(exc)
    return HTMLResponse(render_share_page(report, f"/share/{token}/report.pdf"), headers=SHARE_HEADERS)


@router.get("/share/{token}/report.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}}, summary="A shared screening's report as PDF")
def shared_pdf(token: str, clinic: ClinicDep) -> Response:
    try:
        report = clinic.shared_report(token, "PDF")
    except (NotFoundError, GoneError) as exc:
        return _share_error(exc)
    return _pdf(report, headers=SHARE_HEADERS)
