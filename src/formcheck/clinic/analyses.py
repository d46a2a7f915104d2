"""What the clinic needs of the clip analyses, as a protocol: the service's job layer implements it.

The clinic links a test to an analysis job by its id and reads the job's status and results
through this protocol only, so `formcheck.clinic` never imports `formcheck.service` (the app
hands `ClinicService` its `JobManager`). Clips are submitted by the service's upload route,
which then gives the new job's id to `ClinicService.attach_clip`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

# The job statuses the clinic acts on (the service's job store writes them).
DONE, FAILED = "done", "failed"


class AnalysisJob(Protocol):
    """One analysis as the clinic shows it (the service's `store.Job`)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def progress(self) -> float: ...
    @property
    def stage(self) -> str: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...
    @property
    def error_hint(self) -> str | None: ...
    @property
    def marker_size_cm(self) -> float | None: ...


class Analyses(Protocol):
    """The clip analyses the clinic's tests link to."""

    def get(self, job_id: str) -> AnalysisJob | None:
        """The job, or None when it does not exist (deleted)."""
        ...

    def results(self, job_id: str) -> Path:
        """The folder of the finished job's results on this machine: analysis.json and the files it names."""
        ...

    def upload(self, job_id: str) -> Path | None:
        """The uploaded clip on this machine, while it is kept."""
        ...

    def delete_video(self, job_id: str) -> None:
        """Delete the uploaded clip and the annotated video drawn from it, wherever they are kept."""
        ...

    def save_results(self, job_id: str, subfolder: str) -> None:
        """Keep `subfolder`, written into the results folder (key frames), wherever the results are kept."""
        ...

    def delete(self, job_id: str) -> None:
        """Stop the job if it runs and delete it with every file."""
        ...
