"""/api/v1/clinic: athletes, screenings, tests and their clips, scores, history, share links.

Thin: every rule lives in `formcheck.clinic` (service, scoring, history). Another clinician's
ids answer 404, exactly like ids that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from formcheck.clinic.clip_checks import ClipReview
from formcheck.clinic.history import history_png
from formcheck.clinic.models import (
    Athlete,
    AthleteHistory,
    AthleteIn,
    AthletePatch,
    AuditEntry,
    ClinicianNoteIn,
    ManualTrials,
    Screening,
    ScreeningIn,
    ScreeningPatch,
    ScreeningResult,
    ScreeningTest,
    ScreeningTestIn,
    ShareLink,
    ShareLinkCreated,
    ShareLinkIn,
    exercise_for,
)
from formcheck.schema import Analysis
from formcheck.service.deps import ManagerDep, SettingsDep, StoreDep
from formcheck.service.models import ErrorBody
from formcheck.service.routers.analyses import accept_upload, upload_body
from formcheck.service.routers.clinic_deps import AdminClinician, ClinicDep, CurrentClinician
from formcheck.service.video_response import VideoResponse

ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorBody} for status in (401, 403, 404, 409, 410, 422)}
router = APIRouter(prefix="/api/v1/clinic", tags=["clinic"], responses=ERRORS)


def _no_content(change: Callable[[str, str], None], clinician_id: str, item_id: str) -> Response:
    """Run a delete (or revoke) of the clinician's item; 204 with no body, as every such route answers."""
    change(clinician_id, item_id)
    return Response(status_code=204)


# -- athletes ----------------------------------------------------------------------------------
@router.get("/athletes", response_model=list[Athlete], summary="Your athletes")
def list_athletes(who: CurrentClinician, clinic: ClinicDep) -> list[Athlete]:
    return clinic.athletes(who.id)


@router.post("/athletes", status_code=201, response_model=Athlete, summary="Add an athlete")
def create_athlete(body: AthleteIn, who: CurrentClinician, clinic: ClinicDep) -> Athlete:
    return clinic.create_athlete(who.id, body)


@router.get("/athletes/{athlete_id}", response_model=Athlete)
def get_athlete(athlete_id: str, who: CurrentClinician, clinic: ClinicDep) -> Athlete:
    athlete = clinic.athlete(who.id, athlete_id)
    clinic.audit(who, "viewed", "athlete record", athlete_id=athlete_id)
    return athlete


@router.patch("/athletes/{athlete_id}", response_model=Athlete, summary="Change some of an athlete's fields")
def update_athlete(athlete_id: str, body: AthletePatch, who: CurrentClinician, clinic: ClinicDep) -> Athlete:
    return clinic.update_athlete(who.id, athlete_id, body)


@router.delete("/athletes/{athlete_id}", status_code=204,
               summary="Delete an athlete with every screening, clip, result and share link")
def delete_athlete(athlete_id: str, who: AdminClinician, clinic: ClinicDep) -> Response:
    clinic.audit(who, "deleted", "athlete with every screening, clip and result", athlete_id=athlete_id)
    return _no_content(clinic.delete_athlete, who.id, athlete_id)


@router.get("/athletes/{athlete_id}/history", response_model=AthleteHistory,
            summary="Each metric across the athlete's screenings, with changes beyond the MDC flagged")
def get_history(athlete_id: str, who: CurrentClinician, clinic: ClinicDep) -> AthleteHistory:
    history = clinic.history(who.id, athlete_id)
    clinic.audit(who, "viewed", "history", athlete_id=athlete_id)
    return history


@router.get("/athletes/{athlete_id}/history.png", response_class=Response, summary="The history as a plot (PNG)",
            responses={200: {"content": {"image/png": {}}}})
def get_history_png(athlete_id: str, who: CurrentClinician, clinic: ClinicDep, metric: str | None = None) -> Response:
    """`metric`: a comma-separated list of metric keys (from the JSON history); default all."""
    history = clinic.history(who.id, athlete_id)
    wanted = {m.strip() for m in metric.split(",")} if metric else None
    shown = [h for h in history.metrics if wanted is None or h.metric in wanted]
    athlete = clinic.athlete(who.id, athlete_id)
    clinic.audit(who, "viewed", "history plot", athlete_id=athlete_id)
    return Response(history_png(shown, title=athlete.name), media_type="image/png")


@router.get("/athletes/{athlete_id}/audit", response_model=list[AuditEntry],
            summary="Who viewed, exported, shared or deleted this athlete's data (newest first; kept after a delete)")
def athlete_audit(athlete_id: str, who: CurrentClinician, clinic: ClinicDep) -> list[AuditEntry]:
    return clinic.audit_log(who.id, athlete_id)


@router.get("/audit", response_model=list[AuditEntry], summary="The audit log of all your athletes (newest 200)")
def audit(who: CurrentClinician, clinic: ClinicDep) -> list[AuditEntry]:
    return clinic.audit_log(who.id)


# -- screenings ----------------------------------------------------------------------------------
@router.get("/athletes/{athlete_id}/screenings", response_model=list[Screening], summary="The athlete's screenings")
def list_screenings(athlete_id: str, who: CurrentClinician, clinic: ClinicDep) -> list[Screening]:
    return clinic.screenings(who.id, athlete_id)


@router.post("/athletes/{athlete_id}/screenings", status_code=201, response_model=Screening,
             summary="Start a screening")
def create_screening(athlete_id: str, body: ScreeningIn, who: CurrentClinician, clinic: ClinicDep) -> Screening:
    return clinic.create_screening(who.id, athlete_id, body)


@router.get("/screenings/{screening_id}", response_model=Screening, summary="A screening and its tests")
def get_screening(screening_id: str, who: CurrentClinician, clinic: ClinicDep) -> Screening:
    return clinic.screening(who.id, screening_id)


@router.patch("/screenings/{screening_id}", response_model=Screening,
              summary="Change the protocol steps skipped for now (kept with the screening)")
def update_screening(screening_id: str, body: ScreeningPatch, who: CurrentClinician, clinic: ClinicDep) -> Screening:
    return clinic.update_screening(who.id, screening_id, body)


@router.delete("/screenings/{screening_id}", status_code=204, summary="Delete a screening, its clips and results")
def delete_screening(screening_id: str, who: AdminClinician, clinic: ClinicDep) -> Response:
    clinic.audit(who, "deleted", f"screening {screening_id[:8]}", screening_id=screening_id)
    return _no_content(clinic.delete_screening, who.id, screening_id)


@router.get("/screenings/{screening_id}/result", response_model=ScreeningResult,
            summary="Scores: mSEBT per leg and direction, composite, asymmetry, flags; lunge and step-up metrics")
def get_result(screening_id: str, who: CurrentClinician, clinic: ClinicDep) -> ScreeningResult:
    result = clinic.result(who.id, screening_id)
    clinic.audit(who, "viewed", f"scores of the screening of {result.screening.date}", athlete_id=result.athlete.id)
    return result


# -- tests and clips ---------------------------------------------------------------------------
@router.post("/screenings/{screening_id}/tests", status_code=201, response_model=ScreeningTest,
             summary="Add a test (mSEBT leg + direction, lunge, step-up)")
def add_test(screening_id: str, body: ScreeningTestIn, who: CurrentClinician, clinic: ClinicDep) -> ScreeningTest:
    return clinic.add_test(who.id, screening_id, body)


@router.get("/tests/{test_id}", response_model=ScreeningTest, summary="A test and the progress of its clip's analysis")
def get_test(test_id: str, who: CurrentClinician, clinic: ClinicDep) -> ScreeningTest:
    return clinic.test(who.id, test_id)


@router.delete("/tests/{test_id}", status_code=204, summary="Delete a test with its clip and results")
def delete_test(test_id: str, who: AdminClinician, clinic: ClinicDep) -> Response:
    clinic.audit(who, "deleted", f"test {test_id[:8]} with its clip", test_id=test_id)
    return _no_content(clinic.delete_test, who.id, test_id)


@router.put("/tests/{test_id}/review", response_model=ScreeningTest,
            summary="Accept a clip filmed from another view than the test needs, or confirm/correct the leg that "
                    "stood (mSEBT) or worked: a test whose check fails is not scored until then")
def review_clip(test_id: str, body: ClipReview, who: CurrentClinician, clinic: ClinicDep) -> ScreeningTest:
    return clinic.review_clip(who.id, test_id, body)


@router.put("/tests/{test_id}/manual-trials", response_model=ScreeningTest,
            summary="mSEBT reaches measured by tape (replace); when given, they are what is scored")
def set_manual_trials(test_id: str, body: ManualTrials, who: CurrentClinician, clinic: ClinicDep) -> ScreeningTest:
    return clinic.set_manual_trials(who.id, test_id, body)


@router.put("/tests/{test_id}/notes", response_model=ScreeningTest,
            summary="The clinician's note on this test (replace; shown in the report)")
def set_test_notes(test_id: str, body: ClinicianNoteIn, who: CurrentClinician, clinic: ClinicDep) -> ScreeningTest:
    return clinic.set_test_notes(who.id, test_id, body.notes)


@router.post("/tests/{test_id}/clip", status_code=202, response_model=ScreeningTest,
             openapi_extra=upload_body("file", "model", "marker_size_cm"),
             summary="Upload the test's clip (multipart `file`, optional `model`, `marker_size_cm`; the athlete's "
                     "leg lengths are used); replaces a previous clip")
async def upload_clip(test_id: str, request: Request, who: CurrentClinician, clinic: ClinicDep,
                      settings: SettingsDep, store: StoreDep, manager: ManagerDep) -> ScreeningTest:
    test, legs = await run_in_threadpool(clinic.clip_target, who.id, test_id)  # 404 before a byte is read
    created = await accept_upload(request, settings, store, manager, exercise=exercise_for(test.kind, test.direction),
                                  leg_length_cm=legs, client=f"clinician:{who.id}")
    job = await run_in_threadpool(store.get, created.id)
    return await run_in_threadpool(clinic.attach_clip, who.id, test_id, created.id, job.file_name if job else "")


@router.get("/tests/{test_id}/analysis", response_model=Analysis, summary="The clip's analysis.json")
def get_test_analysis(test_id: str, who: CurrentClinician, clinic: ClinicDep) -> Analysis:
    return clinic.analysis(who.id, test_id)


@router.get("/tests/{test_id}/video", response_class=FileResponse,
            summary="The annotated clip (HTTP Range, HEAD); 410 when the clinic keeps no video")
@router.head("/tests/{test_id}/video", include_in_schema=False)
def get_test_video(test_id: str, who: CurrentClinician, clinic: ClinicDep) -> VideoResponse:
    return VideoResponse(clinic.result_file(who.id, test_id, "annotated_video"))


@router.get("/tests/{test_id}/angles.csv", response_class=FileResponse, summary="The clip's angle time series")
def get_test_angles(test_id: str, who: CurrentClinician, clinic: ClinicDep) -> FileResponse:
    path = clinic.result_file(who.id, test_id, "angles_csv")
    clinic.audit(who, "exported", f"angles.csv of test {test_id[:8]}", test_id=test_id)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename="angles.csv")


# -- share links -------------------------------------------------------------------------------
@router.post("/screenings/{screening_id}/share", status_code=201, response_model=ShareLinkCreated,
             summary="A read-only, expiring link to this screening's report (the token is shown once)")
def create_share(screening_id: str, body: ShareLinkIn, who: AdminClinician, clinic: ClinicDep) -> ShareLinkCreated:
    link = clinic.create_share_link(who.id, screening_id, body)
    shown = ", ".join(["scores", *(["earlier screenings"] if body.include_history else []),
                       *(["notes"] if body.include_notes else [])])
    clinic.audit(who, "shared", f"link to the screening ({shown}) until {link.expires_at:%Y-%m-%d}",
                 screening_id=screening_id)
    return link


@router.get("/screenings/{screening_id}/share", response_model=list[ShareLink], summary="This screening's share links")
def list_shares(screening_id: str, who: CurrentClinician, clinic: ClinicDep) -> list[ShareLink]:
    return clinic.share_links(who.id, screening_id)


@router.delete("/share-links/{link_id}", status_code=204, summary="Withdraw a share link (it then answers 410)")
def revoke_share(link_id: str, who: AdminClinician, clinic: ClinicDep) -> Response:
    return _no_content(clinic.revoke_share_link, who.id, link_id)
