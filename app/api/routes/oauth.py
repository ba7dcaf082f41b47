"""`/api/oauth/authorize`, `/api/oauth/token`, `/api/oauth/revoke`, `/api/oauth/introspect`:
parse the form, call the engine (`app.oauth`), serialize. Every decision is the engine's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.api.client_credentials import documented_client_authentication, presented_credentials
from app.api.deps import documented_bearer, first_party_principal, services
from app.api.errors import INVALID_PAYLOAD, ApiError
from app.api.forms import FormError, read_form
from app.api.responses import JSON, NO_STORE
from app.api.routes.discovery import issuer_of
from app.api.schemas.common import ErrorMessage
from app.api.schemas.oauth import (
    OAUTH_ERRORS,
    AuthorizeError,
    AuthorizeForm,
    AuthorizeResponse,
    EmptyObject,
    IntrospectForm,
    IntrospectionResponse,
    RevokeForm,
    TokenForm,
    TokenResponse,
    form_body,
)
from app.oauth.authorize import AuthorizationRequest
from app.oauth.clients import PresentedCredentials
from app.oauth.errors import InvalidRequest, OAuthError

T = TypeVar("T")

router = APIRouter(prefix="/api/oauth", tags=["oauth2"])


@router.post(
    "/authorize",
    response_model=AuthorizeResponse,
    responses={
        400: {
            "model": AuthorizeError,
            "description": "`invalid payload` (not a form, client_id or response_type missing, "
            "a field sent twice or too long), or an OAuth2 refusal: unknown client or "
            "unregistered redirect_uri (invalid_request), PKCE problems (invalid_request), "
            "no allowed scope (invalid_scope), confirm not true (access_denied). Never a "
            "redirect URL.",
        },
        401: {"model": ErrorMessage, "description": "Missing, invalid or expired user token"},
        413: {"model": ErrorMessage, "description": "Request body too large"},
        503: {"model": ErrorMessage, "description": "Database unavailable"},
    },
    openapi_extra={**form_body(AuthorizeForm), **documented_bearer()},
    summary="Approve an app: a code, in the URL to send the browser to (user token only)",
)
async def authorize(request: Request) -> Response:
    """The URL carries `code`, `state` and `iss`, the issuer (RFC 9207). Errors come in
    FitTrackee's shape (`status`, `message`), which the first-party client shows; an OAuth2
    refusal also carries its RFC 6749 `error` code and `error_description`."""
    principal = await first_party_principal(request)
    try:
        form = await read_form(request)
    except FormError:
        raise ApiError(INVALID_PAYLOAD) from None
    if "client_id" not in form or "response_type" not in form:
        raise ApiError(INVALID_PAYLOAD)
    confirm = form.get("confirm", "").lower() == "true"
    approval = AuthorizationRequest.from_params(form, confirm=confirm)
    svc = services(request)
    issuer = issuer_of(svc.settings, request)
    try:
        url = await svc.oauth.authorization.authorize(principal.user_id, approval, issuer=issuer)
    except OAuthError as exc:
        return _authorize_refusal(exc)
    # The URL carries the code: no cache may keep it (RFC 6749 §10.5).
    return JSON({"redirect_url": url, "status": "success"}, headers=NO_STORE)


def _authorize_refusal(error: OAuthError) -> JSON:
    body = {"status": "error", "message": error.description or error.error, "error": error.error}
    if error.description:
        body["error_description"] = error.description
    return JSON(body, error.status_code, NO_STORE)


ClientCall = Callable[[PresentedCredentials | None, Mapping[str, str]], Awaitable[T]]


async def _client_request(request: Request, call: ClientCall[T]) -> T:
    """The shared part of /token, /revoke and /introspect: read the form, take the client's
    credentials (RFC 6749 §2.3.1) and run the endpoint. The engine authenticates the client,
    counting the attempt before it checks the secret (`app.ratelimit`: past a limit, 429
    and no check)."""
    try:
        form = await read_form(request)
    except FormError as exc:
        raise InvalidRequest(str(exc)) from None
    return await call(presented_credentials(request, form), form)


@router.post(
    "/token",
    response_model=TokenResponse,
    responses=OAUTH_ERRORS,
    openapi_extra={**form_body(TokenForm), **documented_client_authentication()},
    summary="Exchange a code, or refresh: a new access/refresh token pair (client auth)",
)
async def token(request: Request) -> Response:
    """RFC 6749 §4.1.3 and §6. A code is spent by its first presentation; a replayed code
    revokes what it issued; a refresh rotates the pair, and a reused refresh token revokes
    its whole family (RFC 9700 §4.14.2)."""
    issued = await _client_request(request, services(request).oauth.token.issue)
    return JSON(issued.response(), headers=NO_STORE)


@router.post(
    "/revoke",
    response_model=EmptyObject,
    responses=OAUTH_ERRORS,
    openapi_extra={**form_body(RevokeForm), **documented_client_authentication()},
    summary="Revoke an access or refresh token, and its pair (client auth, RFC 7009)",
)
async def revoke(request: Request) -> Response:
    """200 `{}` also for an unknown, already revoked or other client's token (RFC 7009
    §2.2); only the client's own tokens are revoked."""
    await _client_request(request, services(request).oauth.revocation.revoke)
    return JSON({}, headers=NO_STORE)


@router.post(
    "/introspect",
    response_model=IntrospectionResponse,
    response_model_exclude_none=True,
    responses=OAUTH_ERRORS,
    openapi_extra={**form_body(IntrospectForm), **documented_client_authentication()},
    summary="Is this token active, and for what? (client auth, RFC 7662)",
)
async def introspect(request: Request) -> Response:
    """For resource servers that are not this process: a client learns whether one of its
    own tokens is active, with its scope, user, client and times. Anything else, another
    client's token included, is exactly `{"active": false}` (RFC 7662 §2.2, §4)."""
    answer = await _client_request(request, services(request).oauth.introspection.introspect)
    return JSON(answer, headers=NO_STORE)
