"""`create_app()`: middleware, routers and the error mapping."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.body_limit import BodyLimitMiddleware
from app.api.errors import install_error_handlers
from app.api.responses import JSON
from app.api.routes import apps, auth, health, oauth
from app.config import Settings, get_settings
from app.services import Services

DESCRIPTION = """\
An OAuth2 authorization server speaking FitTrackee's OAuth2 API: app (client) management,
authorization with PKCE, token issue and refresh with rotation, and revocation
(RFC 6749, 7636, 7009; hardened per RFC 9700).

Two bearer tokens: the user's own **auth token** (from `/api/auth/login`) for first-party
endpoints, and **OAuth2 access tokens** (from `/api/oauth/token`) for resources their scopes open.
"""

TAGS = [
    {"name": "accounts", "description": "Register, log in, log out, profile."},
    {"name": "apps", "description": "OAuth2 clients of the logged-in user (first-party only)."},
    {"name": "oauth2", "description": "Authorize, token, revoke (RFC 6749, 7636, 7009)."},
    {"name": "operations", "description": "Health."},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    services = Services.build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await services.db.dispose()

    app = FastAPI(
        title="FitTrackee OAuth2 server",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        default_response_class=JSON,
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)
    for module in (auth, apps, oauth, health):
        app.include_router(module.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app
