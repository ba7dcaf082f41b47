"""`/api/auth/*`: register, login, logout, profile (FitTrackee's first-party account API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import Principal, first_party_user, require_scope, services
from app.api.responses import JSON
from app.api.schemas.auth import (
    LoginRequest,
    LoginResponse,
    ProfileEditRequest,
    ProfileResponse,
    RegisterRequest,
    StatusOnly,
    profile_json,
)
from app.api.schemas.common import error_responses

router = APIRouter(prefix="/api/auth", tags=["accounts"])


@router.post(
    "/register",
    response_model=StatusOnly,
    responses=error_responses(400, 413),
    summary="Register an account (active at once)",
)
async def register(body: RegisterRequest, request: Request) -> Response:
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
    responses=error_responses(400, 401, 413),
    summary="Log in: returns the user's auth token (HS256 JWT)",
)
async def login(body: LoginRequest, request: Request) -> Response:
    token = await services(request).accounts.login(email=body.email, password=body.password)
    return JSON({"auth_token": token, "message": "successfully logged in", "status": "success"})


@router.post(
    "/logout",
    response_model=StatusOnly,
    responses=error_responses(401),
    summary="Log out: the auth token stops working at once",
)
async def logout(
    request: Request, principal: Annotated[Principal, Depends(first_party_user)]
) -> Response:
    assert principal.claims is not None
    await services(request).accounts.logout(principal.claims)
    return JSON({"status": "success", "message": "successfully logged out"})


@router.get(
    "/profile",
    response_model=ProfileResponse,
    responses=error_responses(401, 403),
    summary="The user's profile (user token, or an access token with `profile:read`)",
)
async def profile(
    principal: Annotated[Principal, Depends(require_scope("profile:read"))],
) -> Response:
    return JSON({"data": profile_json(principal.user), "status": "success"})


@router.post(
    "/profile/edit",
    response_model=ProfileResponse,
    responses=error_responses(400, 401, 403),
    summary="Edit the profile (user token, or an access token with `profile:write`)",
)
async def edit_profile(
    body: ProfileEditRequest,
    request: Request,
    principal: Annotated[Principal, Depends(require_scope("profile:write"))],
) -> Response:
    values = body.model_dump(exclude_unset=True)
    user = await services(request).accounts.edit_profile(principal.user_id, values)
    return JSON(
        {"data": profile_json(user), "status": "success", "message": "user profile updated"}
    )
