"""Clinic errors, in the service's shape (code, message, hint, HTTP status)."""

from __future__ import annotations

from formcheck.errors import FormcheckError
from formcheck.service.errors import NotFoundError


class UnauthorizedError(FormcheckError):
    code = "unauthorized"
    http_status = 401

    def __init__(self, message: str = "Log in first.", hint: str = "") -> None:
        super().__init__(message, hint or "POST /api/v1/clinic/auth/login, then send `Authorization: Bearer <token>` "
                                          "(or use the session cookie, or `X-API-Key`).")
        self.headers = {"WWW-Authenticate": "Bearer"}


class ForbiddenError(FormcheckError):
    code = "forbidden"
    http_status = 403


class ConflictError(FormcheckError):
    code = "conflict"
    http_status = 409


class GoneError(FormcheckError):
    code = "gone"
    http_status = 410


def not_found(what: str) -> NotFoundError:
    """The same answer whether the id does not exist or belongs to another clinician."""
    return NotFoundError(f"No {what} with this id.", f"List your {what}s to find the right id.")


class TooManyAttemptsError(FormcheckError):
    code = "too_many_attempts"
    http_status = 429

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("Too many failed logins for this account.",
                         f"Wait {retry_after_s} s (see Retry-After) and try again, or reset the password.")
        self.headers = {"Retry-After": str(retry_after_s)}
