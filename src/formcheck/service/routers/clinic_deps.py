"""FastAPI dependencies of the clinic routers (beside them): the clinic service and the current clinician.

A clinician is recognised, in this order, by `Authorization: Bearer <login token or API key>`,
`X-API-Key: <key>`, or the browser's HttpOnly session cookie. Requests that change data with
only the cookie must come from the same origin (the cookie is SameSite=Strict too).

API keys have a scope: `read` keys only read, `write` keys also add and change data, `admin`
keys also delete it and create share links (`AdminClinician`). Managing keys and the account
(password, second factor, logins) needs a login: no key can (`SessionClinician`).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from formcheck.clinic.auth import API_KEY_PREFIX
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
        if who.via == "api_key" and who.scope == "read" and request.method not in SAFE_METHODS:
            raise ForbiddenError("This API key may only read.", "Create a key with scope write (or admin) for changes.")
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


def admin_clinician(who: CurrentClinician) -> Clinician:
    """Deleting an athlete's data or sharing it: a login, or an API key with scope admin."""
    if who.via == "api_key" and who.scope != "admin":
        raise ForbiddenError(f"This API key has scope {who.scope}; deleting and sharing need scope admin.",
                             "Use a login, or an API key with scope admin.")
    return who


def session_clinician(who: CurrentClinician) -> Clinician:
    """Keys and the account itself: a login only, so a leaked key cannot mint keys or lock the owner out."""
    if who.via == "api_key":
        raise ForbiddenError("API keys cannot manage API keys or the account.",
                             "Log in (POST /api/v1/clinic/auth/login) and use that session.")
    return who


AdminClinician = Annotated[Clinician, Depends(admin_clinician)]
SessionClinician = Annotated[Clinician, Depends(session_clinician)]


def session_token(request: Request) -> str | None:
    """The login token of this request (bearer or cookie); None for an API key."""
    bearer = bearer_token(request)
    if bearer and bearer.startswith(API_KEY_PREFIX):
        return None
    return bearer or request.cookies.get(COOKIE)


def client_address(request: Request) -> str:
    """The client's address for login throttling (uvicorn resolves X-Forwarded-For from trusted proxies only)."""
    return request.client.host if request.client else "unknown"


def set_session_cookie(request: Request, response: Response, token: str, max_age_s: int, mode: str) -> None:
    secure = mode == "always" or (mode == "auto" and request.url.scheme == "https")
    response.set_cookie(COOKIE, token, max_age=max_age_s, httponly=True, samesite="strict", secure=secure, path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
