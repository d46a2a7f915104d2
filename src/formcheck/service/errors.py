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
