"""Shared dependencies: the services, the first-party user, and scope-checked access.

Two kinds of bearer token reach the API (see the spec): the user's own JWT, which opens
everything, and OAuth2 access tokens, which open only what their scopes allow.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection, Request

from app import clock
from app.accounts.profile import UserProfile
from app.accounts.user_tokens import (
    ExpiredUserToken,
    InvalidUserToken,
    UserClaims,
    looks_like_jwt,
)
from app.api.bearer import bearer_token
from app.api.errors import ApiError
from app.oauth.errors import InsufficientScope, bearer_challenge
from app.oauth.resource import validate_access_token
from app.ratelimit import AuthRateLimits
from app.services import Services

log = logging.getLogger(__name__)

# Shown in the OpenAPI docs (and the "Authorize" button of /docs) only: the token itself is
# read by `app.api.bearer.bearer_token`.
BEARER_SCHEME = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT or opaque",
    description=(
        "The user's **auth token** from `POST /api/auth/login` (every endpoint), or an "
        "**OAuth2 access token** from `POST /api/oauth/token` (only where its scopes allow)."
    ),
    auto_error=False,
)
DocumentedBearer = HTTPAuthorizationCredentials | None

NO_TOKEN = "provide a valid auth token"
EXPIRED = "signature expired, please log in again"
INVALID = "invalid token, please log in again"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a user, and either their JWT claims (first party) or a token's scopes."""

    user_id: int
    user: UserProfile
    claims: UserClaims | None = None
    scope: frozenset[str] | None = None  # None: first-party, every scope

    @property
    def first_party(self) -> bool:
        return self.claims is not None


def services(request: Request) -> Services:
    return request.app.state.services


def rate_limits(request: Request) -> AuthRateLimits:
    """The app's brute-force limits (those the engine's client authentication uses too)."""
    return services(request).rate_limits


def client_ip(request: HTTPConnection) -> str:
    """The client's address as uvicorn reports it: behind a proxy listed in
    `FORWARDED_ALLOW_IPS`, with `--proxy-headers`, the one in `X-Forwarded-For`.

    A request that carries `X-Forwarded-For` while its address is not in it came through a
    proxy uvicorn does not trust: every client behind it would share the proxy's limits,
    so that is said once in the log.
    """
    host = request.client.host if request.client else "unknown"
    global _untrusted_proxy_seen
    if not _untrusted_proxy_seen:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded and host not in forwarded:
            _untrusted_proxy_seen = True
            log.warning(
                "a request from %s carries X-Forwarded-For, which uvicorn ignores for that "
                "address: if a proxy runs there, list it in FORWARDED_ALLOW_IPS, or every "
                "client behind it shares its rate limits",
                host,
            )
    return host


_untrusted_proxy_seen = False


def _unauthorized(text: str, error: str | None = "invalid_token") -> ApiError:
    """RFC 6750 §3: a 401 always challenges with `Bearer`; `error="invalid_token"` only
    when a token was sent (§3.1), never when the request carried none."""
    challenge = bearer_challenge(error, None) if error else "Bearer"
    return ApiError(text, 401, headers={"WWW-Authenticate": challenge})


async def _first_party(svc: Services, token: str) -> Principal:
    try:
        claims = svc.user_tokens.decode(token, clock.utcnow())
    except ExpiredUserToken:
        raise _unauthorized(EXPIRED) from None
    except InvalidUserToken:
        raise _unauthorized(INVALID) from None
    user = await svc.accounts.active_user(claims)
    if user is None:
        raise _unauthorized(INVALID)
    return Principal(user_id=claims.user_id, user=user, claims=claims)


async def first_party_principal(request: Request) -> Principal:
    """The user's own JWT only: app management and authorization are first-party endpoints,
    so an OAuth2 access token is refused here whatever its scope."""
    token = bearer_token(request)
    if token is None:
        raise _unauthorized(NO_TOKEN, error=None)
    if not looks_like_jwt(token):
        raise _unauthorized(INVALID)
    return await _first_party(services(request), token)


async def scoped_principal(request: Request, scope: str) -> Principal:
    """The user's JWT (full access), or an OAuth2 access token that carries `scope`."""
    token = bearer_token(request)
    if token is None:
        raise _unauthorized(NO_TOKEN, error=None)
    svc = services(request)
    if looks_like_jwt(token):
        return await _first_party(svc, token)
    grant = await validate_access_token(svc.storage.tokens, token, clock.utcnow())
    if scope not in grant.scope:
        raise InsufficientScope(scope)
    return Principal(user_id=grant.user_id, user=grant.user, scope=grant.scope)


def documented_bearer(*scopes: str) -> dict[str, Any]:
    """`openapi_extra` of an endpoint that takes only the request (`app.api.exact_dispatch`),
    which has no dependency to say that it takes the bearer token: the same security entry."""
    return {"security": [{BEARER_SCHEME.scheme_name: list(scopes)}]}


async def first_party_user(
    request: Request, _documented: Annotated[DocumentedBearer, Security(BEARER_SCHEME)] = None
) -> Principal:
    """`first_party_principal` as a dependency."""
    return await first_party_principal(request)


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """`scoped_principal` as a dependency."""

    async def dependency(request: Request, _documented: DocumentedBearer = None) -> Principal:
        return await scoped_principal(request, scope)

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    # Set here, not in the signature: the annotation names `scope`, which string annotations
    # (PEP 563) could not see. The docs then list the scope beside the bearer scheme.
    dependency.__annotations__["_documented"] = Annotated[
        DocumentedBearer, Security(BEARER_SCHEME, scopes=[scope])
    ]
    return dependency
