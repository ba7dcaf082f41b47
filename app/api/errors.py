"""The one error mapping for the whole app: every failure becomes JSON, never HTML or a trace.

- `ApiError` / `AccountError` / `ClientError`: FitTrackee's `{"status": "error", "message": ...}`.
- `OAuthError`: RFC 6749 §5.2 `{"error": ..., "error_description": ...}`, no-store.
- Request validation (missing fields, wrong types, malformed JSON, a JSON array, a non-JSON
  body): 400 `invalid payload`, where FastAPI would answer 422 (FitTrackee answers 400).
- Unknown path 404, wrong method 405 (with `Allow`), both JSON.
- A database that cannot serve now (`app.db.errors.DatabaseUnavailable`, which both lanes
  raise): 503 with `Retry-After`; anything else unexpected, a database error included: 500
  `internal error`, logged with its trace on the server side only.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.accounts.service import AccountError
from app.api.responses import JSON, NO_STORE, message
from app.clients.errors import ClientError
from app.db.errors import DatabaseUnavailable
from app.oauth.errors import OAuthError

log = logging.getLogger(__name__)

INVALID_PAYLOAD = "invalid payload"
NOT_FOUND = "the requested URL was not found on the server"
BODY_TOO_LARGE = "request body too large"
DATABASE_UNAVAILABLE = "database unavailable, try again later"
INTERNAL_ERROR = "internal error"


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


def oauth_error_response(error: OAuthError) -> JSON:
    return JSON(error.body(), error.status_code, {**NO_STORE, **error.headers()})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> Response:
        return message(exc.text, exc.status_code, exc.status, exc.headers)

    @app.exception_handler(ClientError)
    async def _client_error(_: Request, exc: ClientError) -> Response:
        return message(exc.message, exc.status_code, exc.status)

    @app.exception_handler(AccountError)
    async def _account_error(_: Request, exc: AccountError) -> Response:
        return message(exc.message, exc.status_code)

    @app.exception_handler(OAuthError)
    async def _oauth_error(_: Request, exc: OAuthError) -> Response:
        return oauth_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        return message(INVALID_PAYLOAD, 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        return http_exception_response(exc)

    @app.exception_handler(DatabaseUnavailable)
    async def _database_unavailable(_: Request, exc: DatabaseUnavailable) -> Response:
        log.warning("database unavailable: %s", exc)
        return message(DATABASE_UNAVAILABLE, 503, "error", {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        # Starlette's ServerErrorMiddleware sends this, then re-raises for the server's log.
        return message(INTERNAL_ERROR, 500)


def http_exception_response(exc: StarletteHTTPException) -> Response:
    """Starlette/FastAPI's own HTTP errors (routing, body parsing) in FitTrackee's shape."""
    code = exc.status_code
    default = exc.detail == _phrase(code)
    if code == 404:
        return message(NOT_FOUND if default else str(exc.detail), 404, "not found", exc.headers)
    if code == 400:
        # FastAPI's "There was an error parsing the body" and the like.
        return message(INVALID_PAYLOAD, 400, "error", exc.headers)
    if code == 413:
        return message(BODY_TOO_LARGE, 413, "error", exc.headers)
    text = exc.detail if isinstance(exc.detail, str) else _phrase(code)
    return message(text.lower(), code, "error", exc.headers)


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "error"
