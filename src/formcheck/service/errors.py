"""Errors of the HTTP layer, in the same shape as the pipeline's (code, message, hint, http_status).

Each error is a subclass of `ApiError` that names its `code` and `http_status`; one with a fixed
answer also names its `message`, `hint` and response `headers`, so raising it needs no arguments.
"""

from __future__ import annotations

from collections.abc import Mapping

from formcheck.errors import FormcheckError


class ApiError(FormcheckError):
    """An error the service answers as JSON; the app's FormcheckError handler also sends `headers`."""

    message = ""
    hint = ""
    headers: Mapping[str, str] | None = None

    def __init__(self, message: str = "", hint: str = "") -> None:
        super().__init__(message or type(self).message, hint or type(self).hint)


class RetryLaterError(ApiError):
    """Refused for now: the Retry-After header says when to try again."""

    http_status = 429

    def __init__(self, message: str, hint: str, retry_after_s: int) -> None:
        super().__init__(message, hint)
        self.headers = {"Retry-After": str(retry_after_s)}


class NotFoundError(ApiError):
    code = "not_found"
    http_status = 404


class NotReadyError(ApiError):
    code = "not_ready"
    http_status = 409


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
    code = "storage_full"
    http_status = 507
    message = "The server's disk is full; the upload was not kept."
    hint = "Try again later; if it persists, tell the operator."


class QueueFullError(RetryLaterError):
    """Admission control: refused before the body is read, so a busy server does no wasted work."""

    code = "queue_full"

    def __init__(self, queued: int, retry_after_s: int) -> None:
        super().__init__(
            f"The server already has {queued} analyses waiting.",
            f"Upload again in about {retry_after_s} s (see the Retry-After header).",
            retry_after_s,
        )


def not_found(job_id: str) -> NotFoundError:
    return NotFoundError(
        "No analysis with this id.",
        "It may have been deleted; upload the clip again.",
    )
