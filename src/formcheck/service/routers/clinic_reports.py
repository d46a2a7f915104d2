"""/api/v1/clinic/.../report: a screening's report as HTML and PDF, its metrics as CSV, a test's
angles as an OpenSim .mot; and the same report behind a share link (/share/<token>).

Thin: `ClinicService.report` gathers the data, `formcheck.clinic.reports` renders it.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, HTMLResponse

from formcheck.clinic import reports
from formcheck.clinic.deps import ClinicDep, CurrentClinician
from formcheck.clinic.service import ClinicService
from formcheck.service.errors import InvalidParameterError
from formcheck.service.models import ErrorBody

ERRORS = {status: {"model": ErrorBody} for status in (401, 404, 409, 410, 422)}
router = APIRouter(tags=["clinic: reports"], responses=ERRORS)
PREFIX = "/api/v1/clinic"


def _file_name(clinic: ClinicService, cid: str, screening_id: str, suffix: str) -> str:
    s = clinic.screening(cid, screening_id)
    return f"screening-{s.date.isoformat()}{suffix}"


def _pdf(clinic: ClinicService, cid: str, screening_id: str) -> Response:
    pdf = reports.render_pdf(clinic.report(cid, screening_id))
    name = _file_name(clinic, cid, screening_id, ".pdf")
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get(f"{PREFIX}/screenings/{{screening_id}}/report", response_class=HTMLResponse,
            summary="The screening's report (self-contained HTML)")
def report_html(screening_id: str, who: CurrentClinician, clinic: ClinicDep) -> HTMLResponse:
    return HTMLResponse(reports.render_html(clinic.report(who.id, screening_id)))


@router.get(f"{PREFIX}/screenings/{{screening_id}}/report.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}}, summary="The screening's report (PDF)")
def report_pdf(screening_id: str, who: CurrentClinician, clinic: ClinicDep) -> Response:
    return _pdf(clinic, who.id, screening_id)


@router.get(f"{PREFIX}/screenings/{{screening_id}}/metrics.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}}, summary="Every metric of the screening (long-format CSV)")
def report_csv(screening_id: str, who: CurrentClinician, clinic: ClinicDep) -> Response:
    text = reports.metrics_csv(clinic.report(who.id, screening_id))
    name = _file_name(clinic, who.id, screening_id, "-metrics.csv")
    return Response(text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get(f"{PREFIX}/screenings/{{screening_id}}/angles.mot", response_class=FileResponse,
            summary="One test's hip/knee/ankle angles as an OpenSim .mot (`test` needed when several are analysed)")
def screening_mot(screening_id: str, who: CurrentClinician, clinic: ClinicDep,
                  test: str | None = Query(None, description="Test id; optional when one test is analysed.")) -> FileResponse:
    done = [t.id for t in clinic.screening(who.id, screening_id).tests if t.status == "done"]
    if test is None:
        if len(done) != 1:
            raise InvalidParameterError(
                f"This screening has {len(done)} analysed tests; say which one with ?test=<id>.",
                "Analysed tests: " + (", ".join(done) or "none yet"))
        test = done[0]
    elif test not in {t.id for t in clinic.screening(who.id, screening_id).tests}:
        raise InvalidParameterError("That test is not part of this screening.", "Use a test id of this screening.")
    return _mot(clinic, who.id, test)


@router.get(f"{PREFIX}/tests/{{test_id}}/angles.mot", response_class=FileResponse,
            summary="The test's hip/knee/ankle angles as an OpenSim .mot")
def test_mot(test_id: str, who: CurrentClinician, clinic: ClinicDep) -> FileResponse:
    return _mot(clinic, who.id, test_id)


def _mot(clinic: ClinicService, cid: str, test_id: str) -> FileResponse:
    return FileResponse(clinic.mot_path(cid, test_id), media_type="text/plain; charset=utf-8",
                        filename=f"angles-{test_id[:8]}.mot")


# -- the same report behind a share link (no login) --------------------------------------------
@router.get("/share/{token}", response_class=HTMLResponse, summary="A shared report (read-only, expiring)")
def shared_html(token: str, clinic: ClinicDep) -> HTMLResponse:
    clinician_id, screening_id = clinic.shared(token)
    return HTMLResponse(reports.render_html(clinic.report(clinician_id, screening_id)),
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@router.get("/share/{token}/report.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}}, summary="A shared report as PDF")
def shared_pdf(token: str, clinic: ClinicDep) -> Response:
    clinician_id, screening_id = clinic.shared(token)
    response = _pdf(clinic, clinician_id, screening_id)
    response.headers["Cache-Control"] = "no-store"
    return response
