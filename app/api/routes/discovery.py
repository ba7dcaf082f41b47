"""`GET /.well-known/oauth-authorization-server`: RFC 8414 metadata, from which a client
library configures itself (endpoints, scopes, grant types, PKCE methods, auth methods)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import services
from app.api.responses import JSON, message
from app.api.schemas.common import error_responses
from app.api.schemas.discovery import AuthorizationServerMetadata
from app.config import Settings
from app.oauth.pkce import PLAIN, S256
from app.oauth.scopes import ScopeCatalogue

router = APIRouter(tags=["operations"])

WELL_KNOWN = "/.well-known/oauth-authorization-server"
AUTHORIZATION_PAGE = "/profile/apps/authorize"
TOKEN_PATH = "/api/oauth/token"
REVOCATION_PATH = "/api/oauth/revoke"
INTROSPECTION_PATH = "/api/oauth/introspect"
DOCS_PATH = "/docs"
# RFC 6749 §2.3.1: the secret in HTTP Basic or in the form, at every endpoint that
# authenticates clients.
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
# Metadata with ISSUER changes only with a deployment: clients may keep it for an hour. One
# built from a request's Host is kept by no one.
CACHE_CONTROL = {"Cache-Control": "public, max-age=3600"}
HOST_DERIVED = {"Cache-Control": "no-store", "Vary": "Host"}


def issuer_of(settings: Settings, request: Request) -> str:
    """The issuer (RFC 8414 §2: a URL without query or fragment; without a trailing slash,
    so endpoint URLs are issuer + path), the same in the metadata and in every authorization
    response's `iss` (RFC 9207).

    `ISSUER` when set, as it must be in production. Otherwise (development) this request's
    scheme and Host when the Host is one of `ISSUER_HOSTS` (by default the loopback names and
    HOST:PORT), else the first of those: never a Host the client chose.
    """
    if settings.issuer:
        return settings.issuer.rstrip("/")
    trusted = settings.issuer_host_list
    host = request.headers.get("host", "").lower()
    name = host if host.endswith("]") else host.rpartition(":")[0] or host
    chosen = host if host in trusted or name in trusted else trusted[0]
    return f"{request.url.scheme}://{chosen}"


def _cache_control(settings: Settings) -> dict[str, str]:
    return CACHE_CONTROL if settings.issuer else HOST_DERIVED


def metadata(settings: Settings, issuer: str, scopes: ScopeCatalogue) -> dict[str, Any]:
    """The RFC 8414 §2 document; `plain` PKCE is listed only when the setting allows it, and
    `scopes_supported` is the instance's catalogue (`FITTRACKEE_API_VERSION`),
    `service_documentation` only while `/docs` is served."""
    methods = [S256, PLAIN] if settings.oauth2_allow_plain_pkce else [S256]
    document = {
        "issuer": issuer,
        "authorization_endpoint": issuer + AUTHORIZATION_PAGE,
        "token_endpoint": issuer + TOKEN_PATH,
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "scopes_supported": list(scopes.scopes),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": methods,
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "service_documentation": issuer + DOCS_PATH,
        # RFC 9207 §3: every authorization response names its issuer (mix-up defence).
        "authorization_response_iss_parameter_supported": True,
    }
    if not settings.docs_enabled:  # DOCS_ENABLED=false: no /docs to point to
        del document["service_documentation"]
    return document


@router.get(
    WELL_KNOWN,
    response_model=AuthorizationServerMetadata,
    responses=error_responses(404),
    summary="OAuth 2.0 authorization server metadata (RFC 8414)",
)
async def authorization_server_metadata(request: Request) -> Response:
    """Where to send users to approve an app, where to exchange codes and refresh, revoke
    and introspect tokens, and what this server supports. The issuer is `ISSUER` (required
    in production), whatever `Host` a request carries."""
    svc = services(request)
    document = metadata(svc.settings, issuer_of(svc.settings, request), svc.scopes)
    return JSON(document, headers=_cache_control(svc.settings))


@router.get(
    WELL_KNOWN + "/{issuer_path:path}",
    response_model=AuthorizationServerMetadata,
    responses=error_responses(404),
    summary="RFC 8414 metadata, for an issuer with a path component",
)
async def authorization_server_metadata_for_path(issuer_path: str, request: Request) -> Response:
    """RFC 8414 §3.1: for an issuer such as `https://example.com/oauth`, the metadata lives at
    `/.well-known/oauth-authorization-server/oauth`. Any other path is not found."""
    svc = services(request)
    issuer = issuer_of(svc.settings, request)
    path = issuer.split("://", 1)[-1].partition("/")[2]
    if not path or issuer_path.strip("/") != path.strip("/"):
        return message("not found", 404, "not found")
    return JSON(metadata(svc.settings, issuer, svc.scopes), headers=_cache_control(svc.settings))
