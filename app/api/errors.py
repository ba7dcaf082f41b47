"""The one error mapping for the whole app: every failure becomes JSON, never HTML or a trace."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.accounts.service import AccountError
from app.api.responses import JSON, NO_STORE, message
from app.oauth.errors import OAuthError

log = logging.getLogger(__name__)

INVALID_PAYLOAD = "invalid payload"


class ApiError(Exception):
    """A FitTrackee-shaped refusal: `{"status": status, "message": message}`."""

    def __init__(
        self,
        text: str,
        status_code: int = 400,
        status: str = "error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.status_code = status_code
        self.status = status
        self.headers = headers


class BodyTooLarge(Exception):
    """Raised while reading a request body past the configured limit."""


def oauth_error_response(error: OAuthError) -> JSON:
    return JSON(error.body(), error.status_code, {**NO_STORE, **error.headers()})


def database_unavailable(exc: BaseException) -> bool:
    """True for errors that mean the database cannot be reached, not that a query was wrong."""
    if isinstance(exc, sa_exc.TimeoutError | OSError | asyncio.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    return False


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return message(exc.text, exc.status_code, exc.status, exc.headers)

    @app.exception_handler(AccountError)
    async def _account_error(_: Request, exc: AccountError) -> Response:
        return message(exc.message, exc.status_code)

    @app.exception_handler(OAuthError)
    async def _oauth_error(_: Request, exc: OAuthError) -> Response:
        return oauth_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        return message(INVALID_PAYLOAD, 400)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> Response:
        return message("request body too large", 413)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return message("not found", 404, "not found", exc.headers)
        text = exc.detail if isinstance(exc.detail, str) else "error"
        return message(text.lower(), exc.status_code, "error", exc.headers)

    async def _database(_: Request, exc: Exception) -> Response:
        if database_unavailable(exc):
            log.warning("database unavailable: %s", type(exc).__name__)
            return message(
                "database unavailable, try again later", 503, "error", {"Retry-After": "5"}
            )
        log.exception("database error")
        return message("internal error", 500)

    for kind in (sa_exc.SQLAlchemyError, OSError, asyncio.TimeoutError):
        app.add_exception_handler(kind, _database)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        return message("internal error", 500)
