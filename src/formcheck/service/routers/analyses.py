"""/api/v1/analyses: upload a clip, follow its analysis, fetch and delete its results."""

from __future__ import annotations

import mimetypes
import shutil
from contextlib import suppress

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from formcheck.config import MODEL_NAMES
from formcheck.errors import FormcheckError, UnknownExerciseError
from formcheck.labels import labels_payload
from formcheck.movements import exercises as ex_registry
from formcheck.pose.tracking import SubjectHint
from formcheck.service.deps import DoneJobDep, JobDep, ManagerDep, SettingsDep, StoreDep, load_analysis
from formcheck.service.errors import (
    ClipTooDemandingError,
    InvalidParameterError,
    NotFoundError,
    QueueFullError,
    StorageFullError,
    VideoNotKeptError,
    not_found,
)
from formcheck.service.models import (
    LEG_LENGTH_CM,
    MARKER_SIZE_CM,
    AnalysisCreated,
    AnalysisJob,
    ErrorBody,
    JobScale,
    Links,
    SwapLegs,
)
from formcheck.service.relabel import annotated_video, skeleton, swap_legs
from formcheck.service.report import render_report
from formcheck.service.storage import StorageUnavailableError
from formcheck.service.store import DONE, FAILED, Job, new_job_id
from formcheck.service.upload import receive_upload, safe_suffix
from formcheck.service.video_response import VideoResponse
from formcheck.service.worker import DISK_FULL
from formcheck.sources import VideoInfo, probe

PREFIX = "/api/v1/analyses"


def _errors(*statuses: int) -> dict:
    """Error responses are JSON (ErrorBody) even on routes that answer HTML, CSV or video."""
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    return {status: {"description": "Error: code, message, hint.", "content": body} for status in statuses}


ERRORS = _errors(400, 404, 409, 413, 415, 422, 503)
UPLOAD_ERRORS = _errors(400, 404, 409, 413, 415, 422, 429, 503, 507)

router = APIRouter(prefix=PREFIX, tags=["analyses"])


def _cm(bounds: tuple[float, float], what: str) -> dict:
    return {"type": "number", "minimum": bounds[0], "maximum": bounds[1],
            "description": f"Optional: {what}, cm ({bounds[0]} to {bounds[1]}); gives reach in cm."}


UPLOAD_FIELDS = {
    "file": {"type": "string", "format": "binary", "description": "The video (MP4, MOV, WebM...)."},
    "exercise": {"type": "string", "default": "auto",
                 "description": "auto, an exercise name or an alias (GET /api/v1/exercises)."},
    "model": {"type": "string", "enum": list(MODEL_NAMES), "description": "Pose model; default from settings."},
    "leg_length_left_cm": _cm(LEG_LENGTH_CM, "left leg length, ASIS to medial malleolus"),
    "leg_length_right_cm": _cm(LEG_LENGTH_CM, "right leg length, ASIS to medial malleolus"),
    "marker_size_cm": _cm(MARKER_SIZE_CM, "side of the printed ArUco floor marker (DICT_4X4_50 id 0)"),
    "subject": {"type": "string", "default": "auto",
                "description": "Who to analyse: auto (the person doing the exercise), largest, most-moving, or "
                               "X,Y@T, the person at that point (fractions of the frame's width and height) at "
                               "T seconds, e.g. a click on the first frame: 0.62,0.48@0."},
}


def upload_body(*fields: str) -> dict:
    """OpenAPI requestBody of a multipart upload with these of `UPLOAD_FIELDS` (the body is parsed by hand)."""
    properties = {name: UPLOAD_FIELDS[name] for name in fields}
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


UPLOAD_BODY = upload_body(*UPLOAD_FIELDS)


def _check_subject(value: str | None) -> str | None:
    try:
        hint = SubjectHint.parse(value)
    except ValueError as exc:
        raise InvalidParameterError(f"{exc}.", "Leave subject empty, or give auto, largest, most-moving or "
                                    "X,Y@T.") from None
    return None if hint.rule == "auto" else str(hint)


def _check_exercise(value: str) -> str:
    try:
        return ex_registry.resolve(value)
    except UnknownExerciseError as exc:
        raise InvalidParameterError(exc.message, exc.hint) from None


def _check_model(value: str | None, default: str) -> str:
    value = (value or default).strip().lower()
    if value not in MODEL_NAMES:  # never a path: users pick one of the bundled models
        raise InvalidParameterError(f"Unknown model {value[:40]!r}.", "Use lite, full or heavy.")
    return value


def _check_scale(fields: dict[str, str], leg_length_cm: dict[str, float | None] | None) -> JobScale:
    """The optional scale fields (blank = not given); `leg_length_cm`, when set, replaces the form's legs."""
    given: dict[str, str | float | None] = {name: fields.get(name) or None for name in JobScale.model_fields}
    if leg_length_cm is not None:
        given.update(leg_length_left_cm=leg_length_cm.get("left"), leg_length_right_cm=leg_length_cm.get("right"))
    try:
        return JobScale.model_validate(given)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0])
        raise InvalidParameterError(
            f"Invalid {name} {str(given.get(name))[:20]!r}: {error['msg'][:1].lower()}{error['msg'][1:]}.",
            f"Leg lengths are {LEG_LENGTH_CM[0]} to {LEG_LENGTH_CM[1]} cm (ASIS to medial malleolus), the marker's "
            f"side {MARKER_SIZE_CM[0]} to {MARKER_SIZE_CM[1]} cm; leave out what you have not measured.",
        ) from None


def _base(request: Request, job_id: str) -> str:
    return f"{request.scope.get('root_path', '')}{PREFIX}/{job_id}"


def _job_body(request: Request, manager, job: Job) -> AnalysisJob:
    base = _base(request, job.id)
    links = Links(self=base)
    analysis = None
    if job.status == DONE:
        analysis = load_analysis(manager, job)
        links.report, links.video, links.angles_csv = f"{base}/report", f"{base}/video", f"{base}/angles.csv"
        links.source = f"{base}/source"
        links.angles_mot, links.landmarks = f"{base}/angles.mot", f"{base}/landmarks.npz"
        links.analysis_json, links.skeleton = f"{base}/analysis.json", f"{base}/skeleton"
        links.swap_legs = f"{base}/swap-legs"
        links.plots = {role.removeprefix("plot_"): f"{base}/plots/{name}"
                       for role, name in analysis.files.items() if role.startswith("plot_")}
    error = None
    if job.status == FAILED:
        error = ErrorBody(code=job.error_code or "failed", message=job.error_message or "", hint=job.error_hint or "")
    return AnalysisJob(
        id=job.id, status=job.status, progress=job.progress, stage=job.stage, exercise=job.exercise,
        model=job.model, file_name=job.file_name, created_at=job.created_at, updated_at=job.updated_at,
        scale=JobScale(leg_length_left_cm=job.leg_length_left_cm, leg_length_right_cm=job.leg_length_right_cm,
                       marker_size_cm=job.marker_size_cm),
        subject=job.subject or "auto", error=error, analysis=analysis, links=links,
    )


@router.post("", status_code=202, response_model=AnalysisCreated, responses=UPLOAD_ERRORS, openapi_extra=UPLOAD_BODY,
             summary="Upload a clip; the analysis runs in the background")
async def create_analysis(request: Request, response: Response, settings: SettingsDep, store: StoreDep,
                          manager: ManagerDep) -> AnalysisCreated:
    created = await accept_upload(request, settings, store, manager)
    response.headers["Location"] = created.location
    return created


async def accept_upload(request: Request, settings: SettingsDep, store: StoreDep, manager: ManagerDep,
                        *, exercise: str | None = None, leg_length_cm: dict[str, float | None] | None = None,
                        client: str | None = None) -> AnalysisCreated:
    """Admission, streamed upload, decode check, queue. Shared with the clinic's clip upload, which
    fixes `exercise` and the athlete's `leg_length_cm` itself (the form's fields for them are then ignored)
    and names the clinician as the `client` whose uploads are counted (default: the client's IP)."""
    # A full queue answers 429 at once, before a byte of the body is read.
    if await run_in_threadpool(manager.queue_full):
        raise QueueFullError(settings.max_queued, settings.retry_after_s)
    with manager.upload_slot(client or f"ip:{request.client.host if request.client else 'unknown'}"):
        return await _receive_and_queue(request, settings, store, manager, exercise, leg_length_cm)


def check_clip_limits(info: VideoInfo, settings: SettingsDep, file_name: str) -> None:
    """Refuse a clip whose frames (as its container declares them) are more than one analysis may take."""
    what = (f"{file_name} has {info.frame_count:,} frames ({info.width}x{info.height}, {info.fps:g} fps, "
            f"{info.duration_s:.0f} s)")
    if info.fps > settings.max_fps:
        raise ClipTooDemandingError(
            f"{file_name} has {info.fps:g} frames per second; the limit is {settings.max_fps:g}.",
            f"Export the clip at {settings.max_fps:g} fps or less (30 or 60 is plenty).")
    if info.frame_count > settings.max_frames:
        raise ClipTooDemandingError(f"{what}; the limit is {settings.max_frames:,} frames.",
                                    "Trim the clip to the sets you want checked, or export it at 30 or 60 fps.")
    if info.width * info.height * info.frame_count > settings.max_pixel_frames:
        raise ClipTooDemandingError(
            f"{what}: {info.width * info.height * info.frame_count:.3g} pixel-frames; the limit is "
            f"{settings.max_pixel_frames:.3g}.", "Trim the clip, or export it at 1080p or lower.")


async def _receive_and_queue(request: Request, settings: SettingsDep, store: StoreDep, manager: ManagerDep,
                             exercise: str | None, leg_length_cm: dict[str, float | None] | None) -> AnalysisCreated:
    job_id = new_job_id()
    folder = manager.job_dir(job_id)
    stored = False
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise StorageFullError() from exc
        raise
    try:
        upload = await receive_upload(request, folder / "upload.part", settings.max_upload_bytes)
        exercise = _check_exercise(exercise or upload.fields.get("exercise", "auto"))
        model = _check_model(upload.fields.get("model"), settings.model)
        scale = _check_scale(upload.fields, leg_length_cm)
        subject = _check_subject(upload.fields.get("subject"))
        input_name = "input" + safe_suffix(upload.file_name)
        source = folder / input_name
        upload.path.rename(source)
        limits = settings.pipeline_settings(model).limits
        try:
            info = await run_in_threadpool(probe, source, limits.min_duration_s, limits.max_duration_s)
        except FormcheckError as exc:  # decoding decides, not the name; say it with the user's file name
            exc.message = exc.message.replace(str(source), upload.file_name).replace(input_name, upload.file_name)
            raise
        check_clip_limits(info, settings, upload.file_name)
        # The queue place is taken only now, with the clip complete and checked.
        if not await run_in_threadpool(manager.try_admit):
            raise QueueFullError(settings.max_queued, settings.retry_after_s)
        try:
            # In the media storage before it is queued: a worker on another machine fetches it from there.
            await run_in_threadpool(manager.storage.put_file, job_id, input_name, source)
            stored = True
            job = await run_in_threadpool(lambda: store.create(job_id, exercise=exercise, model=model,
                                                               input_name=input_name, file_name=upload.file_name,
                                                               subject=subject, **scale.model_dump()))
        finally:
            manager.release()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if stored:
            with suppress(StorageUnavailableError):
                manager.storage.delete_job(job_id)
        raise
    await run_in_threadpool(manager.submit, job)  # with Postgres a queue insert: off the event loop
    return AnalysisCreated(id=job_id, status=job.status, location=_base(request, job_id))


@router.get("/{job_id}", response_model=AnalysisJob, responses=ERRORS,
            summary="Status, progress, error, and the analysis once done")
def get_analysis(request: Request, job: JobDep, manager: ManagerDep) -> AnalysisJob:
    return _job_body(request, manager, job)


@router.delete("/{job_id}", status_code=204, responses=ERRORS, summary="Delete the video and all results")
def delete_analysis(job: JobDep, manager: ManagerDep) -> Response:
    manager.delete(job.id)
    return Response(status_code=204)


def _result_file(manager, job: Job, name: str, media_type: str, filename: str | None = None) -> FileResponse:
    """One of the analysis's own result files (a name it lists, never a path from the URL)."""
    path = manager.results(job.id) / name
    if not path.is_file():
        raise NotFoundError(f"{name} is missing from this analysis.", "Run the analysis again.")
    return FileResponse(path, media_type=media_type, filename=filename)


@router.get("/{job_id}/video", response_class=FileResponse, responses=_errors(404, 409, 410),
            summary="Annotated MP4, drawn on the first request (jobs write none: the pages draw the skeleton "
                    "on the original video); HTTP Range so players can seek; HEAD too")
@router.head("/{job_id}/video", include_in_schema=False)
def get_video(done: DoneJobDep, manager: ManagerDep) -> VideoResponse:
    job, analysis = done
    manager.upload(job.id)  # the clip it is drawn on, fetched from the media storage when not on this machine
    return VideoResponse(annotated_video(manager.job_dir(job.id), job, analysis))


@router.get("/{job_id}/source", response_class=FileResponse, responses=_errors(404, 409, 410),
            summary="The uploaded clip as it was sent (HTTP Range; HEAD too): the results page draws the "
                    "skeleton over it from /skeleton")
@router.head("/{job_id}/source", include_in_schema=False)
def get_source(done: DoneJobDep, manager: ManagerDep) -> VideoResponse:
    job, _ = done
    path = manager.upload(job.id)
    if path is None:
        raise VideoNotKeptError("The clip of this analysis is no longer kept.",
                                "The results, angles and landmarks are still here.")
    return VideoResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                         filename=f"upload{path.suffix}")


@router.get("/{job_id}/angles.csv", response_class=FileResponse, responses=ERRORS, summary="Angle time series (CSV)")
def get_angles_csv(done: DoneJobDep, manager: ManagerDep) -> FileResponse:
    job, analysis = done
    return _result_file(manager, job, analysis.files["angles_csv"], "text/csv; charset=utf-8", "angles.csv")


@router.get("/{job_id}/plots/{name}", response_class=FileResponse, responses=ERRORS, summary="An angle plot (PNG)")
def get_plot(name: str, done: DoneJobDep, manager: ManagerDep) -> FileResponse:
    job, analysis = done
    plots = {file for role, file in analysis.files.items() if role.startswith("plot_")}
    if name not in plots:  # only names the analysis itself lists; never a path from the URL
        raise NotFoundError(f"No plot named {name[:60]!r}.", "Available: " + ", ".join(sorted(plots)))
    return _result_file(manager, job, name, "image/png")


@router.get("/{job_id}/report", response_class=HTMLResponse, responses=ERRORS, summary="Printable HTML report")
def get_report(request: Request, done: DoneJobDep) -> HTMLResponse:
    job, analysis = done
    return HTMLResponse(render_report(job, analysis, _base(request, job.id)))


@router.get("/{job_id}/angles.mot", response_class=FileResponse, responses=ERRORS,
            summary="Angle time series as an OpenSim motion file (.mot)")
def get_angles_mot(done: DoneJobDep, manager: ManagerDep) -> FileResponse:
    job, analysis = done
    return _result_file(manager, job, analysis.files["angles_mot"], "text/plain; charset=utf-8", "angles.mot")


@router.get("/{job_id}/landmarks.npz", response_class=FileResponse, responses=ERRORS,
            summary="The subject's raw pose landmarks (NumPy .npz), to re-run the kinematics without the model")
def get_landmarks(done: DoneJobDep, manager: ManagerDep) -> FileResponse:
    job, analysis = done
    return _result_file(manager, job, analysis.files["landmarks"], "application/octet-stream", "landmarks.npz")


@router.get("/{job_id}/analysis.json", response_class=FileResponse, responses=ERRORS,
            summary="analysis.json as a download (the same body as the analysis in GET /{job_id})")
def get_analysis_json(done: DoneJobDep, manager: ManagerDep) -> FileResponse:
    job, _ = done
    return _result_file(manager, job, "analysis.json", "application/json", "analysis.json")


@router.get("/{job_id}/skeleton", responses=ERRORS,
            summary="The cleaned landmarks per frame (fractions of the frame), for an overlay on the video")
async def get_skeleton(done: DoneJobDep, manager: ManagerDep) -> dict:
    job, analysis = done
    return await run_in_threadpool(skeleton, manager.job_dir(job.id), analysis)


@router.post("/{job_id}/swap-legs", response_model=AnalysisJob, responses=_errors(400, 404, 409, 410, 422, 503),
             summary="Swap the left/right leg labels from a time on and re-run the analysis from the stored "
                     "landmarks (no pose model)")
async def post_swap_legs(request: Request, body: SwapLegs, done: DoneJobDep, manager: ManagerDep) -> AnalysisJob:
    job, analysis = done
    if body.from_s > analysis.input.duration_s:
        raise InvalidParameterError(
            f"from_s {body.from_s:g} is after the clip's end ({analysis.input.duration_s:g} s).",
            "Give a time within the clip, e.g. the start of the rep whose legs are swapped.")
    try:
        await run_in_threadpool(manager.upload, job.id)  # the clip, when this machine has no copy
        await run_in_threadpool(swap_legs, manager.job_dir(job.id), job, analysis, body.from_s, manager.storage)
    except FileNotFoundError:
        raise not_found(job.id) from None  # deleted while it ran
    return _job_body(request, manager, job)


exercises_router = APIRouter(prefix="/api/v1", tags=["analyses"])


@exercises_router.get("/exercises", summary="Exercise names accepted by POST (auto, names, aliases)")
def list_exercises() -> dict[str, list[str] | dict[str, str]]:
    labels = {name: spec.label for name, spec in ex_registry.registry().items()}
    return {"choices": ex_registry.names(), "labels": labels}


@exercises_router.get("/labels", summary="Words and units for the analysis' keys (metrics, views, measures)")
def list_labels() -> dict:
    return labels_payload({name: spec.family for name, spec in ex_registry.registry().items()})
