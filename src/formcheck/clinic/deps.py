"""FastAPI dependencies: the clinic service and the current clinician.

A clinician is recognised, in this order, by `Authorization: Bearer <login token or API key>`,
`X-API-Key: <key>`, or the browser's HttpOnly session cookie. Requests that change data with
only the cookie must come from the same origin (the cookie is SameSite=Strict too).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from formcheck.clinic.errors import ForbiddenError, UnauthorizedError
from formcheck.clinic.models import Clinician
from formcheck.clinic.service import ClinicService

COOKIE = "formcheck_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_clinic(request: Request) -> ClinicService:
    return request.app.state.clinic


ClinicDep = Annotated[ClinicService, Depends(get_clinic)]


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def current_clinician(request: Request, clinic: ClinicDep) -> Clinician:
    bearer, api_key = bearer_token(request), request.headers.get("x-api-key")
    cookie = request.cookies.get(COOKIE)
    if bearer or api_key:
        who = clinic.authenticate(bearer=bearer, api_key=api_key)
        if who is None:
            raise UnauthorizedError("The token or API key is unknown, expired or revoked.",
                                    "Log in again (POST /api/v1/clinic/auth/login) or create a new API key.")
        return who
    if cookie:
        if request.method not in SAFE_METHODS and not _same_origin(request):
            raise ForbiddenError("Cross-site request refused.", "Use the formcheck pages, or a bearer token.")
        who = clinic.authenticate(cookie=cookie)
        if who is None:
            raise UnauthorizedError("Your session has expired.", "Log in again.")
        return who
    raise UnauthorizedError()


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # not a browser cross-site form post (those always send Origin)
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "")


CurrentClinician = Annotated[Clinician, Depends(current_clinician)]


def set_session_cookie(request: Request, response: Response, token: str, max_age_s: int, mode: str) -> None:
    secure = mode == "always" or (mode == "auto" and request.url.scheme == "https")
    response.set_cookie(COOKIE, token, max_age=max_age_s, httponly=True, samesite="strict", secure=secure, path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
