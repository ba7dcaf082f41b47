"""`create_app()`: middleware, routers, the error mapping and the OpenAPI document."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from starlette.datastructures import Headers
from starlette.responses import Response

from app import __version__
from app.api.body_limit import BodyLimitMiddleware
from app.api.client_credentials import CLIENT_BASIC, CLIENT_BASIC_SCHEME
from app.api.errors import install_error_handlers
from app.api.exact_dispatch import ExactDispatch
from app.api.responses import JSON, message
from app.api.routes import (
    account_pages,
    app_pages,
    apps,
    auth,
    authorized_apps,
    consent,
    discovery,
    docs,
    health,
    instance_config,
    metrics,
    oauth,
)
from app.api.routes.discovery import AUTHORIZATION_PAGE, TOKEN_PATH
from app.api.schemas.common import error_responses
from app.config import Settings, check_can_serve, get_settings
from app.observability.access_log import configure_access_log
from app.observability.middleware import RequestObserver
from app.observability.multiprocess import worker_figures
from app.pages.scope_words import catalogue_words
from app.services import Services

DESCRIPTION = """\
An OAuth2 authorization server speaking FitTrackee's OAuth2 API: app (client) management,
authorization with PKCE, token issue and refresh with rotation, and revocation
(RFC 6749, 7636, 7009; hardened per RFC 9700).

Two bearer tokens: the user's own **auth token** (from `/api/auth/login`) for first-party
endpoints, and **OAuth2 access tokens** (from `/api/oauth/token`) for resources their scopes open.

Errors are JSON: FitTrackee's `{"status": "error", "message": ...}` on the account and app
endpoints, RFC 6749 `{"error": ..., "error_description": ...}` on the OAuth2 endpoints.
A request that fails validation gets 400 `invalid payload` (never 422).
"""

TAGS = [
    {"name": "accounts", "description": "Register, log in, log out, profile."},
    {
        "name": "apps",
        "description": "The logged-in user's OAuth2 clients, and the apps they let in "
        "(first-party only).",
    },
    {
        "name": "oauth2",
        "description": "Authorize, token, revoke, introspect (RFC 6749, 7009, 7662).",
    },
    {
        "name": "operations",
        "description": "Health, metrics, discovery, the instance's configuration.",
    },
]


class JSONCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in JSON like every other error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        headers = {
            key: value
            for key, value in response.headers.items()
            if key not in ("content-length", "content-type")
        }
        text = bytes(response.body).decode().lower()
        return message(text, response.status_code, "error", headers)


NO_TELEMETRY = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    check_can_serve(settings)
    services = Services.build(settings)
    metrics_dir = settings.prometheus_multiproc_dir if settings.metrics_enabled else ""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything loaded at start-up lives as long as the process: moving it out of the
        # collector's sight keeps full collections (and the p99 latency they cause) short.
        gc.collect()
        gc.freeze()
        async with worker_figures(metrics_dir):
            yield
        await services.db.dispose()
        await services.rate_limits.close()

    app = FastAPI(
        title="FitTrackee OAuth2 server",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        default_response_class=JSON,
        lifespan=lifespan,
        # Our own metrics and request log cover this; FastAPI's OpenTelemetry hooks would
        # cost every request a span even with no exporter configured.
        telemetry=NO_TELEMETRY,
        # Served by app.api.routes.docs instead: offline, and under a CSP.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    modules = [
        auth,
        apps,
        authorized_apps,
        oauth,
        health,
        discovery,
        instance_config,
        consent,
        account_pages,
        app_pages,
    ]
    if settings.metrics_enabled:
        modules.append(metrics)
    if settings.docs_enabled:
        modules.append(docs)
    routers = [module.router for module in modules]
    for router in routers:
        app.include_router(router)
    # Innermost: endpoints that take only the request, dispatched by exact path (see there).
    app.add_middleware(ExactDispatch, fastapi_app=app, routers=routers)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origin_list:
        app.add_middleware(
            JSONCORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(  # outermost: times and logs every request, 413s and CORS included
        RequestObserver,
        metrics=settings.metrics_enabled,
        access_log=configure_access_log(settings.access_log, settings.log_format),
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, told the truth about validation (this app answers 400 `invalid
    payload` where FastAPI documents 422, so every 422 entry becomes that 400) and about
    client authentication (HTTP Basic, a security scheme of its own)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        invalid_payload = _jsonable(error_responses(400)[400])
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None:
                    responses.setdefault("400", invalid_payload)
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        _document_oauth2(schema, catalogue_words(app.state.services.scopes))
        # The client-authenticated endpoints are direct routes (no dependency to declare it).
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[CLIENT_BASIC] = CLIENT_BASIC_SCHEME
        app.openapi_schema = schema
    return app.openapi_schema


def _document_oauth2(schema: dict[str, Any], scopes: dict[str, str]) -> None:
    """The `oauth2` scheme (RFC 6749 §4.1, code flow) with the instance's scopes in plain
    words, offered beside `bearerAuth` wherever an access token with a scope is accepted."""
    flow = {
        "authorizationUrl": AUTHORIZATION_PAGE,
        "tokenUrl": TOKEN_PATH,
        "refreshUrl": TOKEN_PATH,
        "scopes": scopes,
    }
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["oauth2"] = {
        "type": "oauth2",
        "description": "An app's access token, from the authorization code flow.",
        "flows": {"authorizationCode": flow},
    }
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            security = operation.get("security", [])
            scoped = [entry["bearerAuth"] for entry in security if entry.get("bearerAuth")]
            security.extend({"oauth2": needed} for needed in scoped)


def _jsonable(entry: dict[str, Any]) -> dict[str, Any]:
    """A `responses=` entry as it appears in the document (the model as a `$ref`)."""
    content = dict(entry.get("content", {}).get("application/json", {}))
    content["schema"] = {"$ref": "#/components/schemas/ErrorMessage"}
    return {"description": entry["description"], "content": {"application/json": content}}
