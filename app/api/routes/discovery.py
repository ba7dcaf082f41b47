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
from app.oauth.scopes import SCOPES

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
# Metadata changes only with a deployment: clients may keep it for an hour.
CACHE_CONTROL = {"Cache-Control": "public, max-age=3600"}


def issuer_of(settings: Settings, request: Request) -> str:
    """`ISSUER` when set, else this request's base URL (RFC 8414 §2: https URL, no query or
    fragment; without a trailing slash, so endpoint URLs are issuer + path)."""
    return (settings.issuer or str(request.base_url)).rstrip("/")


def metadata(settings: Settings, issuer: str) -> dict[str, Any]:
    """The RFC 8414 §2 document; `plain` PKCE is listed only when the setting allows it,
    `service_documentation` only while `/docs` is served."""
    methods = [S256, PLAIN] if settings.oauth2_allow_plain_pkce else [S256]
    document = {
        "issuer": issuer,
        "authorization_endpoint": issuer + AUTHORIZATION_PAGE,
        "token_endpoint": issuer + TOKEN_PATH,
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": methods,
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "service_documentation": issuer + DOCS_PATH,
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
    and introspect tokens, and what this server supports. Set `ISSUER` in production: it is
    then the same whatever `Host` a request carries."""
    settings = services(request).settings
    return JSON(metadata(settings, issuer_of(settings, request)), headers=CACHE_CONTROL)


@router.get(
    WELL_KNOWN + "/{issuer_path:path}",
    response_model=AuthorizationServerMetadata,
    responses=error_responses(404),
    summary="RFC 8414 metadata, for an issuer with a path component",
)
async def authorization_server_metadata_for_path(issuer_path: str, request: Request) -> Response:
    """RFC 8414 §3.1: for an issuer such as `https://example.com/oauth`, the metadata lives at
    `/.well-known/oauth-authorization-server/oauth`. Any other path is not found."""
    settings = services(request).settings
    issuer = issuer_of(settings, request)
    path = issuer.split("://", 1)[-1].partition("/")[2]
    if not path or issuer_path.strip("/") != path.strip("/"):
        return message("not found", 404, "not found")
    return JSON(metadata(settings, issuer), headers=CACHE_CONTROL)
