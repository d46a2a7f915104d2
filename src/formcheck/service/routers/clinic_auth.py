"""/api/v1/clinic/auth and /api/v1/clinic/api-keys: accounts, logins, API keys (thin: see formcheck.clinic).

Register answers the same whether the e-mail is new or taken (no account enumeration), so it
does not log in: log in next. Keys, passwords, the second factor and "log out everywhere" need a
login (`SessionClinician`): an API key cannot use them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from formcheck.clinic.models import (
    ApiKey,
    ApiKeyCreated,
    ApiKeyIn,
    Clinician,
    Login,
    PasswordChange,
    PasswordReset,
    Registered,
    Registration,
    SessionsEnded,
    TokenOut,
    TotpCode,
    TotpSetup,
)
from formcheck.service.models import ErrorBody
from formcheck.service.routers.clinic_deps import (
    ClinicDep,
    CurrentClinician,
    SessionClinician,
    clear_session_cookie,
    client_address,
    session_token,
    set_session_cookie,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 422, 429, 503)}
router = APIRouter(prefix="/api/v1/clinic", tags=["clinic: accounts"], responses=ERRORS)


def _answer(request: Request, response: Response, clinic, out: TokenOut, token: str, mode: str) -> TokenOut:
    if mode == "cookie":
        seconds = int(clinic.clinic_settings.session_hours * 3600)
        set_session_cookie(request, response, token, seconds, clinic.clinic_settings.cookie_secure)
        return out.model_copy(update={"token": None})
    return out


@router.post("/auth/register", status_code=202, response_model=Registered,
             summary="Create a clinician account; the same answer if the e-mail already has one (then log in)")
def register(body: Registration, clinic: ClinicDep) -> Registered:
    return clinic.register(body)


@router.post("/auth/login", response_model=TokenOut,
             summary="Log in: a bearer token, or an HttpOnly session cookie (failed logins slow down, 429)")
def login(body: Login, request: Request, response: Response, clinic: ClinicDep) -> TokenOut:
    out, token = clinic.login(body, client_address(request))
    return _answer(request, response, clinic, out, token, body.session)


@router.post("/auth/logout", status_code=204,
             summary="End this login (token or cookie); 400 for an API key, which is revoked instead")
def logout(request: Request, who: CurrentClinician, clinic: ClinicDep) -> Response:
    clinic.logout(who, session_token(request))
    response = Response(status_code=204)
    clear_session_cookie(response)
    return response


@router.post("/auth/logout-all", response_model=SessionsEnded, summary="Log out everywhere: end every login")
def logout_all(who: SessionClinician, clinic: ClinicDep, response: Response) -> SessionsEnded:
    clear_session_cookie(response)
    return clinic.logout_everywhere(who)


@router.post("/auth/password", response_model=SessionsEnded,
             summary="Change the password (needs the current one); every other login ends")
def change_password(body: PasswordChange, request: Request, who: SessionClinician, clinic: ClinicDep) -> SessionsEnded:
    return clinic.change_password(who, body, client_address(request), session_token(request) or "")


@router.post("/auth/password-reset", response_model=SessionsEnded,
             summary="Set a new password with a reset token from the operator (`formcheck reset-password`); "
                     "every login ends")
def reset_password(body: PasswordReset, clinic: ClinicDep) -> SessionsEnded:
    return clinic.reset_password(body)


@router.post("/auth/totp/setup", response_model=TotpSetup,
             summary="Start turning on a second factor: a secret for an authenticator app (confirm with a code)")
def totp_setup(who: SessionClinician, clinic: ClinicDep) -> TotpSetup:
    return clinic.totp_setup(who)


@router.post("/auth/totp/enable", response_model=Clinician, summary="Confirm the second factor with a current code")
def totp_enable(body: TotpCode, who: SessionClinician, clinic: ClinicDep) -> Clinician:
    return clinic.totp_enable(who, body.code)


@router.post("/auth/totp/disable", response_model=Clinician,
             summary="Turn the second factor off (needs a current code)")
def totp_disable(body: TotpCode, who: SessionClinician, clinic: ClinicDep) -> Clinician:
    return clinic.totp_disable(who, body.code)


@router.get("/auth/me", response_model=Clinician, summary="Who is logged in")
def me(who: CurrentClinician) -> Clinician:
    return who


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated,
             summary="Create an API key with a scope and an expiry (shown once; needs a login)")
def create_api_key(body: ApiKeyIn, who: SessionClinician, clinic: ClinicDep) -> ApiKeyCreated:
    return clinic.create_api_key(who.id, body)


@router.get("/api-keys", response_model=list[ApiKey], summary="Your API keys (never the keys themselves)")
def list_api_keys(who: CurrentClinician, clinic: ClinicDep) -> list[ApiKey]:
    return clinic.api_keys(who.id)


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key (needs a login)")
def revoke_api_key(key_id: str, who: SessionClinician, clinic: ClinicDep) -> Response:
    clinic.revoke_api_key(who.id, key_id)
    return Response(status_code=204)
