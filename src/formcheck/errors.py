"""Errors a user can act on: each says what is wrong and what to do about it.

The CLI prints `message` and `hint`; the service turns `http_status` and `code` into a JSON error.
"""

from __future__ import annotations


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
