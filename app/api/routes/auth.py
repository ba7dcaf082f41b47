"""`/api/auth/*`: register, login, logout, profile (FitTrackee's first-party account API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from app.accounts.service import INVALID_CREDENTIALS, POLICY_NOT_ACCEPTED
from app.api.deps import (
    EXPIRED,
    INVALID,
    NO_TOKEN,
    Principal,
    client_ip,
    documented_bearer,
    first_party_user,
    rate_limits,
    require_scope,
    scoped_principal,
    services,
)
from app.api.errors import ApiError
from app.api.responses import JSON, NO_STORE
from app.api.schemas.auth import (
    LoginRequest,
    LoginResponse,
    LogoutResponse,
    ProfileEditRequest,
    ProfileEditResponse,
    ProfileResponse,
    RegisterRequest,
    StatusOnly,
    profile_json,
)
from app.api.schemas.common import ErrorMessage, error_responses

router = APIRouter(prefix="/api/auth", tags=["accounts"])

USER_TOKEN_401 = [NO_TOKEN, EXPIRED, INVALID]


REGISTRATION_DISABLED = "error, registration is disabled"
REGISTER_RESPONSES = {
    **error_responses(
        400,
        413,
        429,
        503,
        examples={
            400: [
                "invalid payload",
                POLICY_NOT_ACCEPTED,
                "sorry, that username is already taken",
                "sorry, that email is already taken",
                "username: 3 to 30 characters required\n"
                "email: valid email must be provided\npassword: 8 characters required\n",
            ]
        },
    ),
    403: {
        "model": ErrorMessage,
        "description": "Registration is closed (`REGISTRATION_ENABLED=false`)",
        "content": {
            "application/json": {
                "examples": {
                    REGISTRATION_DISABLED: {
                        "value": {"status": "error", "message": REGISTRATION_DISABLED}
                    }
                }
            }
        },
    },
}


async def registration_open(request: Request) -> None:
    """FitTrackee's check, made before the body is read: with `REGISTRATION_ENABLED=false`
    every registration is 403, whatever it carries."""
    if not services(request).settings.registration_enabled:
        raise ApiError(REGISTRATION_DISABLED, 403)


@router.post(
    "/register",
    response_model=StatusOnly,
    dependencies=[Depends(registration_open)],
    responses=REGISTER_RESPONSES,
    summary="Register an account (active at once)",
)
async def register(body: RegisterRequest, request: Request) -> Response:
    """Creates the account; the user can log in straight away (no e-mail confirmation).

    Usernames and e-mails are unique regardless of case. Validation failures are listed
    one per line in `message`, as FitTrackee does. Attempts are counted per client IP
    (429 with `Retry-After` past the limit).
    """
    await rate_limits(request).guard_registration(client_ip(request))
    await services(request).accounts.register(
        username=body.username,
        email=body.email,
        password=body.password,
        accepted_policy=body.accepted_policy,
    )
    return JSON({"status": "success"})


@router.post(
    "/login",
    response_model=LoginResponse,
    responses=error_responses(400, 401, 413, 429, 503, examples={401: [INVALID_CREDENTIALS]}),
    summary="Log in: returns the user's auth token (HS256 JWT)",
)
async def login(body: LoginRequest, request: Request) -> Response:
    """The same 401 `invalid credentials` for an unknown e-mail and a wrong password.

    Each attempt is counted before the password is checked: past a limit (per account and
    IP, per IP, per account) the answer is 429 with `Retry-After`, and nothing is checked.
    """
    async with rate_limits(request).login_attempt(client_ip(request), body.email) as attempt:
        token = await services(request).accounts.login(email=body.email, password=body.password)
        attempt.succeeded()
    return JSON(
        {"auth_token": token, "message": "successfully logged in", "status": "success"},
        headers=NO_STORE,
    )


@router.post(
    "/logout",
    response_model=LogoutResponse,
    responses=error_responses(401, 503, examples={401: USER_TOKEN_401}),
    summary="Log out: the auth token stops working at once",
)
async def logout(
    request: Request, principal: Annotated[Principal, Depends(first_party_user)]
) -> Response:
    """Only the token sent is revoked; the user's other tokens keep working."""
    assert principal.claims is not None  # first_party_user only accepts user JWTs
    await services(request).accounts.logout(principal.claims)
    return JSON({"status": "success", "message": "successfully logged out"})


@router.get(
    "/profile",
    response_model=ProfileResponse,
    responses=error_responses(401, 403, 503),
    openapi_extra=documented_bearer("profile:read"),
    summary="The user's profile (user token, or an access token with `profile:read`)",
)
async def profile(request: Request) -> Response:
    principal = await scoped_principal(request, "profile:read")
    return JSON({"data": profile_json(principal.user), "status": "success"})


@router.post(
    "/profile/edit",
    response_model=ProfileEditResponse,
    responses=error_responses(400, 401, 403, 413, 503),
    summary="Edit the profile (user token, or an access token with `profile:write`)",
)
async def edit_profile(
    body: ProfileEditRequest,
    request: Request,
    principal: Annotated[Principal, Depends(require_scope("profile:write"))],
) -> Response:
    """A field left out keeps its value; `null` clears it."""
    values = body.model_dump(exclude_unset=True)
    user = await services(request).accounts.edit_profile(principal.user_id, values)
    return JSON(
        {"data": profile_json(user), "status": "success", "message": "user profile updated"}
    )
