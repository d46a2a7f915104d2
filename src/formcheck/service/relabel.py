"""What is made after an analysis from its stored landmarks (landmarks.npz), never the pose model:
the leg labels swapped from a time on ("swap legs from here"), the cleaned skeleton the results
page draws over the original video, and the annotated MP4 when someone asks for it (jobs write
none: the pages draw the skeleton themselves, and the MP4 costs as much as a third of a job).

A re-run writes a new results folder beside the old one and swaps it in, so the old results are
served until the new ones are complete; then it stores them in the media storage (the results every
machine reads). One re-run per job at a time.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np

from formcheck.config import Settings
from formcheck.kinematics import compute_kinematics
from formcheck.pipeline import analyze_landmarks, render_annotated_video
from formcheck.schema import Analysis
from formcheck.series import PoseSeries, SubjectChoice, load_series
from formcheck.service.errors import VideoNotKeptError
from formcheck.service.storage import MediaStorage, StorageUnavailableError
from formcheck.service.store import Job
from formcheck.service.worker import PARTIAL, RESULTS, results_dir
from formcheck.sources import probe

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _job_lock(job_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(job_id, threading.Lock())


def stored_landmarks(job_dir: Path, analysis: Analysis) -> PoseSeries:
    raw = load_series(results_dir(job_dir) / analysis.files["landmarks"])
    raw.subject = SubjectChoice(**analysis.subject.model_dump())
    return raw


def swap_times(current: list[float], from_s: float) -> list[float]:
    """The swap times after one more: the same time again takes that swap back (an undo)."""
    at = round(float(from_s), 3)
    return [t for t in current if t != at] if at in current else sorted([*current, at])


def swap_legs(job_dir: Path, job: Job, analysis: Analysis, from_s: float, storage: MediaStorage) -> Analysis:
    """Re-run kinematics, movement analysis and every output with the legs swapped from `from_s` on."""
    with _job_lock(job.id):
        settings = Settings.model_validate(analysis.settings)
        source = job_dir / job.input_name
        if not source.is_file() and job_dir.is_dir():  # privacy setting: videos deleted once analysed
            raise VideoNotKeptError()
        info = probe(source, settings.limits.min_duration_s, settings.limits.max_duration_s)
        partial, final, replaced = job_dir / f"{PARTIAL}.relabel", results_dir(job_dir), job_dir / "results.replaced"
        shutil.rmtree(partial, ignore_errors=True)
        result = analyze_landmarks(
            info, stored_landmarks(job_dir, analysis), partial, settings, exercise=job.exercise,
            leg_length_cm=job.leg_length_cm, marker_size_cm=job.marker_size_cm,
            manual_swaps_s=swap_times(analysis.quality.manual_leg_swaps_s, from_s),
            annotated_video=False)  # drawn again on request (annotated_video), from the new labels
        shutil.rmtree(replaced, ignore_errors=True)
        final.rename(replaced)
        partial.rename(final)
        shutil.rmtree(replaced, ignore_errors=True)
        try:
            storage.put_folder(job.id, RESULTS, final)
        except StorageUnavailableError:
            shutil.rmtree(final, ignore_errors=True)  # this machine reads the storage's results again
            raise
        return result.analysis


def annotated_video(job_dir: Path, job: Job, analysis: Analysis) -> Path:
    """The annotated MP4 of a finished job, drawn now if the job (or a re-run) wrote none; the
    job's lock keeps a leg swap from replacing the results folder meanwhile."""
    with _job_lock(job.id):
        source = job_dir / job.input_name
        if not (results_dir(job_dir) / "annotated.mp4").is_file() and not source.is_file():
            # privacy setting: videos deleted once analysed
            raise VideoNotKeptError("The clip of this analysis is no longer kept, so its annotated video "
                                    "cannot be drawn.", "The results, angles and landmarks are still here.")
        return render_annotated_video(source, results_dir(job_dir))


def skeleton(job_dir: Path, analysis: Analysis) -> dict:
    """The cleaned landmarks the angles used (manual swaps included), as fractions of the frame:
    {time_s, points: per frame 33 [x, y] or null}, for the overlay drawn over the results video."""
    settings = Settings.model_validate(analysis.settings)
    cleaned, _ = compute_kinematics(stored_landmarks(job_dir, analysis), settings.kinematics,
                                    manual_swaps_s=analysis.quality.manual_leg_swaps_s)
    xy = cleaned.image_xy / np.array([cleaned.width, cleaned.height], dtype=float)
    points = [[None if not np.all(np.isfinite(p)) else [round(float(p[0]), 4), round(float(p[1]), 4)]
               for p in frame] for frame in xy]
    return {"time_s": [round(float(t), 4) for t in cleaned.time_s], "points": points}
