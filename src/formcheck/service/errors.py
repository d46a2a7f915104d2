"""Errors of the HTTP layer, in the same shape as the pipeline's (code, message, hint, http_status)."""

from __future__ import annotations

from formcheck.errors import FormcheckError


class NotFoundError(FormcheckError):
    code = "not_found"
    http_status = 404


class NotReadyError(FormcheckError):
    code = "not_ready"
    http_status = 409


class UploadTooLargeError(FormcheckError):
    code = "upload_too_large"
    http_status = 413


class BadUploadError(FormcheckError):
    code = "invalid_upload"
    http_status = 400


class InvalidParameterError(FormcheckError):
    code = "invalid_parameter"
    http_status = 422


def not_found(job_id: str) -> NotFoundError:
    return NotFoundError(
        "No analysis with this id.",
        "It may have been deleted; upload the clip again.",
    )


class QueueFullError(FormcheckError):
    """Admission control: refused before the body is read, so a busy server does no wasted work."""

    code = "queue_full"
    http_status = 429

    def __init__(self, queued: int, retry_after_s: int) -> None:
        super().__init__(
            f"The server already has {queued} analyses waiting.",
            f"Upload again in about {retry_after_s} s (see the Retry-After header).",
        )
        self.headers = {"Retry-After": str(retry_after_s)}


class StorageFullError(FormcheckError):
    code = "storage_full"
    http_status = 507

    def __init__(self) -> None:
        super().__init__(
            "The server's disk is full; the upload was not kept.",
            "Try again later; if it persists, tell the operator.",
        )
