"""Clinic errors, in the service's shape (code, message, hint, HTTP status)."""

from __future__ import annotations

from formcheck.service.errors import ApiError, NotFoundError, RetryLaterError


class UnauthorizedError(ApiError):
    code = "unauthorized"
    http_status = 401
    message = "Log in first."
    hint = ("POST /api/v1/clinic/auth/login, then send `Authorization: Bearer <token>` "
            "(or use the session cookie, or `X-API-Key`).")
    headers = {"WWW-Authenticate": "Bearer"}


class ForbiddenError(ApiError):
    code = "forbidden"
    http_status = 403


class ConflictError(ApiError):
    code = "conflict"
    http_status = 409


class GoneError(ApiError):
    code = "gone"
    http_status = 410


def not_found(what: str) -> NotFoundError:
    """The same answer whether the id does not exist or belongs to another clinician."""
    return NotFoundError(f"No {what} with this id.", f"List your {what}s to find the right id.")


class TooManyAttemptsError(RetryLaterError):
    code = "too_many_attempts"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("Too many failed logins for this account.",
                         f"Wait {retry_after_s} s (see Retry-After) and try again, or reset the password.",
                         retry_after_s)
