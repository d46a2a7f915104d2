"""Dependencies injected into the routers: settings, job store, job manager, the job itself."""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import Depends, Path, Request

from formcheck.errors import NotReadyError
from formcheck.schema import Analysis
from formcheck.service.errors import not_found
from formcheck.service.jobs import JobManager
from formcheck.service.settings import ServiceSettings
from formcheck.service.store import DONE, Job, JobStore

JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def get_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


def get_store(request: Request) -> JobStore:
    return request.app.state.store


def get_manager(request: Request) -> JobManager:
    return request.app.state.manager


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
ManagerDep = Annotated[JobManager, Depends(get_manager)]


def get_job(request: Request, store: StoreDep,
            job_id: Annotated[str, Path(description="Analysis id from POST.")]) -> Job:
    # Ids are server-made uuid4 hex; anything else is unknown without touching the DB or disk.
    job = store.get(job_id) if JOB_ID.match(job_id) else None
    # A clinic clip is served through the clinic's routes only (login, owner), never by its id alone.
    if job is None or request.app.state.clinic.holds_job(job_id):
        raise not_found(job_id)
    return job


JobDep = Annotated[Job, Depends(get_job)]


def load_analysis(manager: JobManager, job: Job) -> Analysis:
    path = manager.results(job.id) / "analysis.json"  # fetched from the media storage when not on this machine
    return Analysis.model_validate(json.loads(path.read_text()))


def get_done_job(job: JobDep, manager: ManagerDep) -> tuple[Job, Analysis]:
    """Results are served only once the job is done (never a half-written folder)."""
    if job.status != DONE:
        raise NotReadyError(
            f"This analysis is {job.status}; its results are not available.",
            "Poll GET /api/v1/analyses/{id} until status is done." if job.status in ("queued", "running")
            else "See the error in GET /api/v1/analyses/{id}.",
        )
    return job, load_analysis(manager, job)


DoneJobDep = Annotated[tuple[Job, Analysis], Depends(get_done_job)]
