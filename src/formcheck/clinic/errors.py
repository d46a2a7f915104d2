"""Clinic errors, in the service's shape (code, message, hint, HTTP status)."""

from __future__ import annotations

from formcheck.errors import ApiError, NotFoundError, RetryLaterError


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


class BadRequestError(ApiError):
    code = "bad_request"
    http_status = 400


class TotpRequiredError(UnauthorizedError):
    code = "totp_required"
    message = "This account needs the code from its authenticator app."
    hint = "Send the 6-digit code as `totp` with the e-mail and password."


class WeakPasswordError(ApiError):
    code = "weak_password"
    http_status = 422

    def __init__(self, why: str) -> None:
        super().__init__("This password is too easy to guess.", why)


class TooManyAttemptsError(RetryLaterError):
    code = "too_many_attempts"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("Too many failed logins; logins are slowed down for a while.",
                         f"Wait {retry_after_s} s (see Retry-After) and try again, or reset the password.",
                         retry_after_s)


class LoginBusyError(RetryLaterError):
    """Every password-hashing slot stayed busy (many logins at once): 503, not a slow server."""

    code = "busy"
    http_status = 503

    def __init__(self, retry_after_s: int = 5) -> None:
        super().__init__("Too many logins at once; this one was not checked.", "Try again in a few seconds.",
                         retry_after_s)
