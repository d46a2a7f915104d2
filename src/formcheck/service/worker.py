"""What runs inside an analysis process: one job from queued to done/failed, progress in the DB.

Top-level functions only (they run in the spawned analysis processes of `jobs`).
Results are written to `results.partial.<attempt>/` and renamed to `results/` once complete,
and the job is marked done after that: a half-written folder is never served. Every status
write names the attempt (see `JobStore.mark_running`), so a stale run cannot overwrite a newer one.
With a media storage (`storage`), the input is fetched from it when this machine has no copy, and
the results are in it before the job is marked done.
"""

from __future__ import annotations

import errno
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from formcheck.errors import FormcheckError
from formcheck.service.storage import LocalStorage, MediaStorage, StorageUnavailableError
from formcheck.service.store import WORKER_TIMEOUT_S, JobStore

log = logging.getLogger(__name__)

RESULTS = "results"
PARTIAL = "results.partial"
# Out of space (or over a file-size limit): the server's disk, not the clip, is the problem.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
# Share of the progress bar per pipeline stage (pose estimation dominates the run time).
STAGE_SPAN = {"pose": (0.0, 0.75), "video": (0.75, 0.98)}
# What a job runs: `formcheck.pipeline.analyze_video` or a module-level function with its signature
# (the tests inject one that skips the pose model; it is pickled by name into the analysis process).
Analyze = Callable[..., Any]


class JobCancelled(Exception):
    """The job was deleted while running."""


def results_dir(job_dir: Path) -> Path:
    return job_dir / RESULTS


def pipeline_analysis(*args: Any, **kwargs: Any) -> Any:
    """`formcheck.pipeline.analyze_video`, imported when a job runs (in the analysis process, not the API's)."""
    from formcheck.pipeline import analyze_video

    return analyze_video(*args, **kwargs)


def run_job(
    job_id: str,
    db_url: str,
    job_dir: str,
    input_name: str,
    pipeline_settings: dict[str, Any],
    exercise: str,
    progress_interval_s: float = 0.5,
    leg_length_cm: dict[str, float] | None = None,
    marker_size_cm: float | None = None,
    subject: str | None = None,
    *,
    analyze: Analyze = pipeline_analysis,
    storage: MediaStorage | None = None,
) -> str:
    """Run the pipeline for one job; return its final status. Never raises for a job's own failure.

    `leg_length_cm` (the sides given) and `marker_size_cm` are the upload's scale (`Job.leg_length_cm`).
    `analyze` runs the analysis (`analyze_video`'s signature). `storage` holds the job's media (None:
    the job folder's parent is the store). A job folder made here only to run the job (its input
    fetched from a remote storage) is a worker machine's cache, dropped once the job is over.
    """
    from formcheck.config import Settings

    store = JobStore(db_url, timeout_s=WORKER_TIMEOUT_S)
    folder = Path(job_dir)
    storage = storage or LocalStorage(folder.parent)
    source = folder / input_name
    cache_only = not source.is_file() and not isinstance(storage, LocalStorage)
    taken_over = False
    attempt = store.mark_running(job_id)
    if attempt is None:
        return "skipped"  # deleted, or already handled by another run
    partial, final = folder / f"{PARTIAL}.{attempt}", folder / RESULTS
    last = {"t": 0.0}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last["t"] < progress_interval_s and done < total:
            return
        last["t"] = now
        lo, hi = STAGE_SPAN.get(stage, (0.0, 0.98))
        value = lo + (hi - lo) * min(1.0, done / max(1, total))
        if not store.set_progress(job_id, round(value, 4), stage, attempt):
            raise JobCancelled(job_id)

    def fail(code: str, message: str, hint: str) -> str:
        shutil.rmtree(partial, ignore_errors=True)
        store.mark_failed(job_id, code, message, hint, attempt=attempt)
        return "failed"

    try:
        for old in folder.glob(f"{PARTIAL}*"):  # left by a run that was killed
            shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        if not source.is_file() and not storage.fetch_file(job_id, input_name, source):
            return fail("input_missing", "The uploaded clip is no longer in the media storage.", "Upload it again.")
        settings = Settings.model_validate(pipeline_settings)
        # no annotated MP4: the pages draw the skeleton on the uploaded clip; /video draws the MP4 on request
        analyze(source, partial, settings, exercise=exercise, leg_length_cm=leg_length_cm,
                marker_size_cm=marker_size_cm, subject=subject, progress=progress, annotated_video=False)
        partial.rename(final)
        storage.put_folder(job_id, RESULTS, final)  # in the storage before the job says done
        if store.mark_done(job_id, attempt):
            log.info("analysis %s: done (attempt %d)", job_id, attempt)
            return "done"
        raise JobCancelled(job_id)
    except JobCancelled:
        if store.get(job_id) is None:  # deleted: leave nothing behind
            shutil.rmtree(folder, ignore_errors=True)
        else:  # taken over by a newer run: leave its files alone
            taken_over = True
            shutil.rmtree(partial, ignore_errors=True)
        return "cancelled"
    except FormcheckError as exc:
        return fail(exc.code, exc.message, exc.hint)
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            return _internal_error(job_id, exc, fail)
        log.error("analysis %s: disk full: %s", job_id, exc)
        return fail(
            "disk_full",
            "The server ran out of disk space while writing the results; nothing was kept.",
            "Try again later; if it persists, tell the operator (the data folder's disk is full).",
        )
    except Exception as exc:  # a job's crash must not take the worker down
        return _internal_error(job_id, exc, fail)
    finally:
        _leave(store, storage, job_id, folder, drop_cache=cache_only and not taken_over)


def _leave(store: JobStore, storage: MediaStorage, job_id: str, folder: Path, drop_cache: bool) -> None:
    """After a run: nothing left of a job deleted meanwhile (its delete removed the rest), and no
    worker machine's cache of a finished job."""
    if store.get(job_id) is None:
        shutil.rmtree(folder, ignore_errors=True)
        try:
            storage.delete_job(job_id)
        except StorageUnavailableError as exc:
            log.error("analysis %s: deleted, but its stored results remain: %s", job_id, exc.message)
    elif drop_cache:
        shutil.rmtree(folder, ignore_errors=True)


def _internal_error(job_id: str, exc: Exception, fail: Any) -> str:
    log.exception("analysis %s failed", job_id)
    return fail(
        "internal_error",
        f"The analysis stopped on an unexpected error ({exc.__class__.__name__}: {exc}).",
        "Try again; if it fails again, report it with the clip.",
    )
