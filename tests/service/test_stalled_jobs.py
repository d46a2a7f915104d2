"""What happens to the analysis of a worker that went silent (issue 15): the rules of
`JobManager.take_back_stalled`, which the Procrastinate sweep applies to each stalled job, on the
jobs table alone (the sweep with real workers is tests/service/test_scale_workers.py)."""

from __future__ import annotations

import uuid

import pytest

from formcheck.service.jobs import MAX_ATTEMPTS, JobManager
from formcheck.service.store import JobStore
from service_support import service_settings


@pytest.fixture
def manager(tmp_path) -> JobManager:
    settings = service_settings(tmp_path)
    store = JobStore(settings.db_url)
    store.init()
    return JobManager(settings, store)  # not started: no processes, no queue


def new_job(manager: JobManager, claims: int = 0) -> str:
    job_id = uuid.uuid4().hex
    manager.store.create(job_id, exercise="auto", model="lite", input_name="input.mp4", file_name="a.mp4")
    for attempt in range(claims):
        if attempt:
            assert manager.store.requeue_attempt(job_id, attempt)
        assert manager.store.mark_running(job_id) == attempt + 1
    return job_id


def test_a_running_analysis_goes_back_to_the_queue_and_its_old_run_cannot_finish(manager):
    job_id = new_job(manager, claims=1)
    assert manager.take_back_stalled(job_id) == "retry"
    job = manager.store.get(job_id)
    assert job.status == "queued" and job.attempts == 1
    assert not manager.store.mark_done(job_id, attempt=1)  # the silent worker, should it wake up
    assert manager.store.mark_running(job_id) == 2  # the next worker's run
    assert not manager.store.set_progress(job_id, 0.5, "pose", attempt=1)
    assert manager.store.mark_done(job_id, attempt=2)


def test_taking_back_twice_costs_no_attempt(manager):
    job_id = new_job(manager, claims=1)
    assert manager.take_back_stalled(job_id) == "retry"
    assert manager.take_back_stalled(job_id) == "retry"  # still queued: only its queue entry is retried
    assert manager.store.mark_running(job_id) == 2


def test_after_the_attempt_limit_it_fails_with_the_reason(manager):
    job_id = new_job(manager, claims=MAX_ATTEMPTS)
    assert manager.take_back_stalled(job_id) == "end"
    job = manager.store.get(job_id)
    assert job.status == "failed" and job.error_code == "interrupted"
    assert f"interrupted {MAX_ATTEMPTS} times" in job.error_message and job.error_hint


def test_finished_and_deleted_analyses_end_their_queue_entry(manager):
    done = new_job(manager, claims=1)
    assert manager.store.mark_done(done, attempt=1)
    gone = new_job(manager, claims=1)
    manager.store.delete(gone)
    assert manager.take_back_stalled(done) == "end" and manager.take_back_stalled(gone) == "end"
    assert manager.store.get(done).status == "done"


def test_a_job_never_claimed_is_simply_retried(manager):
    job_id = new_job(manager)
    assert manager.take_back_stalled(job_id) == "retry"
    assert manager.store.get(job_id).attempts == 0
