"""Errors a user can act on: each says what is wrong and what to do about it.

The CLI prints `message` and `hint`; the service turns `http_status` and `code` into a JSON error.
The HTTP-only bases live here too, so the clinic and the service share them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping


class FormcheckError(Exception):
    code = "formcheck_error"
    http_status = 422

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InputFileError(FormcheckError):
    """The file is missing, unreadable, or not a video we can decode."""

    code = "invalid_video"
    http_status = 415


class VideoTooShortError(FormcheckError):
    code = "video_too_short"


class VideoTooLongError(FormcheckError):
    code = "video_too_long"
    http_status = 413


class NoPersonError(FormcheckError):
    code = "no_person"


class SubjectNotFoundError(FormcheckError):
    """The user pointed at a place in the frame where nobody was found."""

    code = "subject_not_found"


class UnknownExerciseError(FormcheckError, ValueError):
    """Also a ValueError: what analyze_movement raised for an unknown name before."""

    code = "unknown_exercise"


class ModelNotFoundError(FormcheckError):
    code = "model_not_found"
    http_status = 500


# -- the HTTP layer's errors that the clinic raises too (the service adds its own in service/errors.py) --
class ApiError(FormcheckError):
    """An error the service answers as JSON; the app's FormcheckError handler also sends `headers`.

    Each subclass names its `code` and `http_status`; one with a fixed answer also names its
    `message`, `hint` and response `headers`, so raising it needs no arguments.
    """

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
