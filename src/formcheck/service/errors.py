"""Errors of the HTTP layer, in the same shape as the pipeline's (code, message, hint, http_status).

Each error is a subclass of `ApiError` (`formcheck.errors`, shared with the clinic) that names its
`code` and `http_status`; one with a fixed answer also names its `message` and `hint`.
"""

from __future__ import annotations

from formcheck.errors import ApiError, NotFoundError, RetryLaterError


class UploadTooLargeError(ApiError):
    code = "upload_too_large"
    http_status = 413


class BadUploadError(ApiError):
    code = "invalid_upload"
    http_status = 400


class InvalidParameterError(ApiError):
    code = "invalid_parameter"
    http_status = 422


class StorageFullError(ApiError):
    """Out of disk space (or the database cannot write): the app's handler adds Retry-After."""

    code = "storage_full"
    http_status = 507
    message = "The server's disk is full; nothing from this request was kept."
    hint = "Try again later (see the Retry-After header); if it persists, tell the operator."


class TooManyUploadsError(RetryLaterError):
    """One client's uploads in progress, counted apart from the queue (a slow client blocks only itself)."""

    code = "too_many_uploads"

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(
            f"You are already sending {limit} uploads at once; that is the limit per client.",
            "Wait for one of them to finish, then upload again.",
            retry_after_s,
        )


class ClipTooDemandingError(ApiError):
    """The container says the clip has more frames (or a higher rate) than one analysis may take."""

    code = "clip_too_demanding"
    http_status = 413


class QueueFullError(RetryLaterError):
    """Admission control: refused before the body is read, so a busy server does no wasted work."""

    code = "queue_full"

    def __init__(self, queued: int, retry_after_s: int) -> None:
        super().__init__(
            f"The server already has {queued} analyses waiting.",
            f"Upload again in about {retry_after_s} s (see the Retry-After header).",
            retry_after_s,
        )


class VideoNotKeptError(ApiError):
    """A re-run that needs the uploaded clip (to redraw the annotated video) after it was deleted."""

    code = "video_not_kept"
    http_status = 410
    message = "The clip of this analysis is no longer kept, so the analysis cannot be re-run."
    hint = "Upload the clip again to analyse it afresh."


def not_found(job_id: str) -> NotFoundError:
    return NotFoundError(
        "No analysis with this id.",
        "It may have been deleted; upload the clip again.",
    )
