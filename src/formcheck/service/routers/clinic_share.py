"""Share links: what an athlete opens without an account (read-only, expiring).

Unknown token: 404; expired or withdrawn: 410 with a message saying so.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from formcheck.clinic.models import ScreeningResult
from formcheck.service.models import ErrorBody
from formcheck.service.routers.clinic_deps import ClinicDep

router = APIRouter(tags=["clinic: shared report"], responses={s: {"model": ErrorBody} for s in (404, 410)})


@router.get("/api/v1/clinic/shared/{token}", response_model=ScreeningResult,
            summary="The shared screening's scores (read-only; notes only if the clinician shared them)")
def shared_result(token: str, clinic: ClinicDep, response: Response) -> ScreeningResult:
    response.headers["Cache-Control"] = "no-store"
    return clinic.shared_result(token)
