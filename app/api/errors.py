"""The one error mapping for the whole app: every failure becomes JSON, never HTML or a trace.

- `ApiError` / `AccountError` / `ClientError`: FitTrackee's `{"status": "error", "message": ...}`.
- `OAuthError`: RFC 6749 §5.2 `{"error": ..., "error_description": ...}`, no-store.
- On the OAuth2 endpoints (`/api/oauth/token`, `/revoke`, `/introspect`) every error, a 413 or
  a 405 included, is in the RFC 6749 shape: OAuth2 client libraries read `error`.
- `RateLimited`: 429 with `Retry-After` and no-store, in the shape of the endpoint.
- A client that went away before its body arrived (`ClientDisconnect`): logged as such, at
  info level and without a trace; the answer reaches no one.
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
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from app.accounts.service import AccountError
from app.api.responses import JSON, NO_STORE, message
from app.clients.errors import ClientError
from app.db.errors import DatabaseUnavailable
from app.oauth.errors import OAuthError
from app.ratelimit import RateLimited, Surface

log = logging.getLogger(__name__)

INVALID_PAYLOAD = "invalid payload"
NOT_FOUND = "the requested URL was not found on the server"
BODY_TOO_LARGE = "request body too large"
HEADERS_TOO_LARGE = "request header fields too large"
DATABASE_UNAVAILABLE = "database unavailable, try again later"
INTERNAL_ERROR = "internal error"
TOO_MANY_REQUESTS = "too many requests, retry later"
TOO_MANY_ATTEMPTS = "Too many attempts: retry after the number of seconds in Retry-After."
CLIENT_DISCONNECTED = "client disconnected"

# The endpoints OAuth2 client libraries call (RFC 6749 §3.2, RFC 7009, RFC 7662).
OAUTH2_ENDPOINTS = frozenset({"/api/oauth/token", "/api/oauth/revoke", "/api/oauth/introspect"})
# RFC 6749 §5.2 codes for the errors that are not the protocol's own: a server that cannot
# serve now (§4.1.2.1 `temporarily_unavailable`) or fails (`server_error`); everything else
# about the request is `invalid_request`.
OAUTH_CODES = {429: "temporarily_unavailable", 503: "temporarily_unavailable", 500: "server_error"}


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


def speaks_oauth(path: str) -> bool:
    return path in OAUTH2_ENDPOINTS


def error_response(
    path: str,
    text: str,
    status_code: int,
    status: str = "error",
    headers: dict[str, str] | None = None,
) -> JSON:
    """An error that is not the protocol's own (a body too large, a wrong method, a database
    down): RFC 6749 §5.2's shape on the OAuth2 endpoints, FitTrackee's everywhere else."""
    if speaks_oauth(path):
        code = OAUTH_CODES.get(status_code, "invalid_request")
        body = {"error": code, "error_description": text[:1].upper() + text[1:] + "."}
        return JSON(body, status_code, {**NO_STORE, **(headers or {})})
    return message(text, status_code, status, headers)


def rate_limited_response(exc: RateLimited) -> JSON:
    """429 (RFC 6585 §4) with `Retry-After`; not to be cached, like every refusal of a
    secret."""
    headers = {**NO_STORE, "Retry-After": str(exc.retry_after)}
    if exc.surface is Surface.OAUTH:
        body = {"error": OAUTH_CODES[429], "error_description": TOO_MANY_ATTEMPTS}
        return JSON(body, 429, headers)
    return message(TOO_MANY_REQUESTS, 429, "error", headers)


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

    @app.exception_handler(RateLimited)
    async def _rate_limited(_: Request, exc: RateLimited) -> Response:
        return rate_limited_response(exc)

    @app.exception_handler(ClientDisconnect)
    async def _disconnected(request: Request, _: ClientDisconnect) -> Response:
        log_disconnect(request.url.path)
        return error_response(request.url.path, CLIENT_DISCONNECTED, 400)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        return message(INVALID_PAYLOAD, 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return http_exception_response(exc, request.url.path)

    @app.exception_handler(DatabaseUnavailable)
    async def _database_unavailable(request: Request, exc: DatabaseUnavailable) -> Response:
        log.warning("database unavailable: %s", exc)
        return error_response(
            request.url.path, DATABASE_UNAVAILABLE, 503, headers={"Retry-After": "5"}
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Starlette's ServerErrorMiddleware sends this, then re-raises for the server's log.
        return error_response(request.url.path, INTERNAL_ERROR, 500)


def log_disconnect(path: str) -> None:
    """An aborted upload is the client's doing, not a server error: one line, no trace."""
    log.info("client disconnected before its request body was complete: %s", path)


def http_exception_response(exc: StarletteHTTPException, path: str = "") -> Response:
    """Starlette/FastAPI's own HTTP errors (routing, body parsing), in the endpoint's shape."""
    code = exc.status_code
    default = exc.detail == _phrase(code)
    if code == 404:
        text = NOT_FOUND if default else str(exc.detail)
        return error_response(path, text, 404, "not found", exc.headers)
    if code == 400:
        # FastAPI's "There was an error parsing the body" and the like.
        return error_response(path, INVALID_PAYLOAD, 400, headers=exc.headers)
    if code == 413:
        return error_response(path, BODY_TOO_LARGE, 413, headers=exc.headers)
    text = exc.detail if isinstance(exc.detail, str) else _phrase(code)
    return error_response(path, text.lower(), code, headers=exc.headers)


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "error"
