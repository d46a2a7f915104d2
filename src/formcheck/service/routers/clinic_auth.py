"""/api/v1/clinic/auth and /api/v1/clinic/api-keys: accounts, logins, API keys (thin: see formcheck.clinic)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from formcheck.clinic.deps import (
    COOKIE,
    ClinicDep,
    CurrentClinician,
    bearer_token,
    clear_session_cookie,
    set_session_cookie,
)
from formcheck.clinic.models import ApiKey, ApiKeyCreated, ApiKeyIn, Clinician, Credentials, Registration, TokenOut
from formcheck.service.models import ErrorBody

ERRORS = {status: {"model": ErrorBody} for status in (401, 403, 404, 409, 422)}
router = APIRouter(prefix="/api/v1/clinic", tags=["clinic: accounts"], responses=ERRORS)


def _answer(request: Request, response: Response, clinic, out: TokenOut, token: str, mode: str) -> TokenOut:
    if mode == "cookie":
        seconds = int(clinic.clinic_settings.session_hours * 3600)
        set_session_cookie(request, response, token, seconds, clinic.clinic_settings.cookie_secure)
        return out.model_copy(update={"token": None})
    return out


@router.post("/auth/register", status_code=201, response_model=TokenOut, summary="Create a clinician account (logs in)")
def register(body: Registration, request: Request, response: Response, clinic: ClinicDep) -> TokenOut:
    out, token = clinic.register(body, body.session)
    return _answer(request, response, clinic, out, token, body.session)


@router.post("/auth/login", response_model=TokenOut, summary="Log in: a bearer token, or an HttpOnly session cookie")
def login(body: Credentials, request: Request, response: Response, clinic: ClinicDep) -> TokenOut:
    out, token = clinic.login(body.email, body.password, body.session)
    return _answer(request, response, clinic, out, token, body.session)


@router.post("/auth/logout", status_code=204, summary="End this login (token or cookie)")
def logout(request: Request, who: CurrentClinician, clinic: ClinicDep) -> Response:
    token = bearer_token(request) or request.cookies.get(COOKIE)
    if token:
        clinic.logout(token)
    response = Response(status_code=204)
    clear_session_cookie(response)
    return response


@router.get("/auth/me", response_model=Clinician, summary="Who is logged in")
def me(who: CurrentClinician) -> Clinician:
    return who


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, summary="Create an API key (shown once)")
def create_api_key(body: ApiKeyIn, who: CurrentClinician, clinic: ClinicDep) -> ApiKeyCreated:
    return clinic.create_api_key(who.id, body.label)


@router.get("/api-keys", response_model=list[ApiKey], summary="Your API keys (never the keys themselves)")
def list_api_keys(who: CurrentClinician, clinic: ClinicDep) -> list[ApiKey]:
    return clinic.api_keys(who.id)


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_api_key(key_id: str, who: CurrentClinician, clinic: ClinicDep) -> Response:
    clinic.revoke_api_key(who.id, key_id)
    return Response(status_code=204)
