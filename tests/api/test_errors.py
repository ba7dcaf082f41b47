"""The one error mapping: every failure is JSON (never HTML, never a stack trace), validation
failures are 400 `invalid payload`, and a database that is down is a quick 503."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from sqlalchemy import exc as sa_exc

from app import clock
from app.config import Settings
from app.db.errors import DatabaseUnavailable
from app.main import create_app
from tests.helpers import PASSWORD, TEST_SECRET_KEY, bearer, user_token

INVALID_PAYLOAD = {"status": "error", "message": "invalid payload"}
REGISTRATION = {
    "username": "alice",
    "email": "alice@example.com",
    "password": PASSWORD,
    "accepted_policy": True,
}


def assert_json_error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body, dict)
    text = response.text.lower()
    assert "traceback" not in text and "<html" not in text
    return body


@pytest.fixture
async def isolated_client(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app of its own (test-only routes may be added to it), app errors not re-raised."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield app, http
    await app.state.services.db.dispose()


# --- routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/api/auth/nope", "/api/auth/login/extra", "/"])
async def test_unknown_path_is_404_json(client, path):
    body = assert_json_error(await client.get(path), 404)
    assert body == {
        "status": "not found",
        "message": "the requested URL was not found on the server",
    }


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/auth/login", "POST"),
        ("DELETE", "/api/auth/register", "POST"),
        ("PUT", "/api/auth/logout", "POST"),
        ("POST", "/api/auth/profile", "GET"),
        ("POST", "/health", "GET"),
    ],
)
async def test_wrong_method_is_405_json_with_allow(client, method, path, allow):
    body = assert_json_error(await client.request(method, path), 405)
    assert body == {"status": "error", "message": "method not allowed"}
    assert allow in response_allow(await client.request(method, path))


@pytest.mark.parametrize("path", ["/api/oauth/token", "/api/oauth/revoke", "/api/oauth/introspect"])
async def test_every_error_of_an_oauth2_endpoint_is_in_the_rfc_6749_shape(client, settings, path):
    """OAuth2 client libraries read `error` (RFC 6749 §5.2), whatever went wrong (issue 10)."""
    too_large = await client.post(
        path,
        content=b"a" * (settings.max_body_bytes + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert assert_json_error(too_large, 413) == {
        "error": "invalid_request",
        "error_description": "Request body too large.",
    }
    assert too_large.headers["cache-control"] == "no-store"
    wrong_method = await client.get(path)
    assert assert_json_error(wrong_method, 405) == {
        "error": "invalid_request",
        "error_description": "Method not allowed.",
    }
    assert "POST" in response_allow(wrong_method)
    bad_length = await client.post(path, headers={"Content-Length": "12x"})
    assert assert_json_error(bad_length, 400)["error"] == "invalid_request"


def response_allow(response: httpx.Response) -> list[str]:
    return [m.strip() for m in response.headers["allow"].split(",")]


# --- request bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"username": "alice",', "application/json"),
        (b"not json at all", "application/json"),
        (b"[]", "application/json"),
        (b'[{"email": "alice@example.com"}]', "application/json"),
        (b'"a string"', "application/json"),
        (b"null", "application/json"),
        (b"42", "application/json"),
        (b"", "application/json"),
        (b"username=alice&password=x", "application/x-www-form-urlencoded"),
        (b'{"username": "alice"}', "text/plain"),
        (b"\xff\xfe\x00garbage", "application/json"),
    ],
)
@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login"])
async def test_bad_bodies_are_400_invalid_payload(client, path, content, content_type):
    response = await client.post(path, content=content, headers={"content-type": content_type})
    assert assert_json_error(response, 400) == INVALID_PAYLOAD


async def test_a_json_body_without_content_type_is_invalid_payload(client):
    response = await client.post(
        "/api/auth/register",
        content=json.dumps(REGISTRATION).encode(),
        headers={"content-type": ""},
    )
    assert assert_json_error(response, 400) == INVALID_PAYLOAD


async def test_json_with_a_charset_or_suffix_is_accepted(client):
    for index, content_type in enumerate(
        ["application/json; charset=utf-8", "application/vnd.api+json"]
    ):
        body = {**REGISTRATION, "username": f"alice{index}", "email": f"a{index}@example.com"}
        response = await client.post(
            "/api/auth/register",
            content=json.dumps(body).encode(),
            headers={"content-type": content_type},
        )
        assert response.status_code == 200, (content_type, response.text)


async def test_a_body_over_the_limit_is_413_json(client, settings):
    padding = "x" * (settings.max_body_bytes + 1)
    response = await client.post("/api/auth/register", json={**REGISTRATION, "pad": padding})
    assert int(response.request.headers["content-length"]) > settings.max_body_bytes
    body = assert_json_error(response, 413)
    assert body == {"status": "error", "message": "request body too large"}


def chunks(payload: bytes, size: int = 4096):
    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), size):
            yield payload[start : start + size]

    return stream()


async def test_a_chunked_body_over_the_limit_is_413_json(client, settings):
    payload = b'{"username": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    response = await client.post(
        "/api/auth/register",
        content=chunks(payload),
        headers={"content-type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    body = assert_json_error(response, 413)
    assert body == {"status": "error", "message": "request body too large"}


async def test_a_chunked_body_under_the_limit_is_served(client):
    response = await client.post(
        "/api/auth/register",
        content=chunks(json.dumps(REGISTRATION).encode(), size=7),
        headers={"content-type": "application/json"},
    )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "success"}


async def test_a_body_at_the_limit_is_read(settings):
    """Exactly `max_body_bytes` passes the limit (and then fails validation as usual)."""
    app = create_app(settings.model_copy(update={"max_body_bytes": 100}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        at_limit = b'{"a": "' + b"x" * 91 + b'"}'
        assert len(at_limit) == 100
        for content in (at_limit, chunks(at_limit, 30)):
            response = await http.post(
                "/api/auth/login", content=content, headers={"content-type": "application/json"}
            )
            assert assert_json_error(response, 400) == INVALID_PAYLOAD
        over = at_limit[:-2] + b'x"}'
        for content in (over, chunks(over, 30)):
            response = await http.post(
                "/api/auth/login", content=content, headers={"content-type": "application/json"}
            )
            assert_json_error(response, 413)
    await app.state.services.db.dispose()


# --- the database is down ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "database_url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:1/nope",
        "sqlite+aiosqlite:///{tmp}",  # a directory, which SQLite cannot open as a database
    ],
    ids=["postgres-refused", "sqlite-unopenable"],
)
async def test_a_database_that_is_down_gives_a_quick_503(tmp_path, database_url):
    settings = Settings(
        app_env="test",
        database_url=database_url.format(tmp=tmp_path),
        secret_key=TEST_SECRET_KEY,
        db_pool_timeout=1,
        argon2_rounds=1,
        argon2_memory_cost=1024,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        started = time.monotonic()
        token = app.state.services.user_tokens.encode(1, clock.utcnow())
        for response in [
            await http.get("/health"),
            await http.post("/api/auth/register", json=REGISTRATION),
            await http.post(
                "/api/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
            ),
            await http.get("/api/auth/profile", headers=bearer(token)),
            await http.post("/api/auth/logout", headers=bearer(token)),
        ]:
            body = assert_json_error(response, 503)
            assert body == {"status": "error", "message": "database unavailable, try again later"}
            assert response.headers["retry-after"] == "5"
        assert time.monotonic() - started < 5
    await app.state.services.db.dispose()


# --- whatever else goes wrong -----------------------------------------------------------------


async def test_an_unexpected_error_is_a_bare_500_json(isolated_client):
    app, http = isolated_client

    @app.get("/test-only/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail that must not leak")

    response = await http.get("/test-only/boom")
    body = assert_json_error(response, 500)
    assert body == {"status": "error", "message": "internal error"}
    assert "secret detail" not in response.text


async def test_a_database_error_that_is_not_an_outage_is_500(isolated_client):
    app, http = isolated_client

    @app.get("/test-only/bad-sql")
    async def bad_sql() -> None:
        raise sa_exc.ProgrammingError("SELECT nope", {}, Exception("syntax error at nope"))

    response = await http.get("/test-only/bad-sql")
    assert assert_json_error(response, 500) == {"status": "error", "message": "internal error"}
    assert "nope" not in response.text


async def test_database_unavailable_is_503_with_retry_after(isolated_client):
    """Both lanes raise `DatabaseUnavailable` for an outage (`app.db.errors`); the one
    mapping answers it."""
    app, http = isolated_client

    @app.get("/test-only/lost")
    async def lost() -> None:
        raise DatabaseUnavailable("ConnectionResetError: reset by peer")

    response = await http.get("/test-only/lost")
    assert assert_json_error(response, 503)["message"] == "database unavailable, try again later"
    assert response.headers["retry-after"] == "5"
    assert "reset by peer" not in response.text


async def test_an_http_exception_keeps_its_own_message(isolated_client):
    app, http = isolated_client

    @app.get("/test-only/missing")
    async def missing() -> None:
        raise HTTPException(404, "OAuth2 client not found")

    response = await http.get("/test-only/missing")
    body = assert_json_error(response, 404)
    assert body == {"status": "not found", "message": "OAuth2 client not found"}


# --- CORS for the single-page client ----------------------------------------------------------

SPA = "https://spa.example.com"


@pytest.fixture
async def cors_client(settings: Settings, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the test database (requesting `app` cleans the tables first)."""
    cors_app = create_app(
        settings.model_copy(update={"cors_origins": f"{SPA}, https://other.example"})
    )
    transport = httpx.ASGITransport(app=cors_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http
    await cors_app.state.services.db.dispose()


async def test_cors_preflight_from_the_spa_is_allowed(cors_client):
    response = await cors_client.options(
        "/api/auth/login",
        headers={
            "Origin": SPA,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_cors_preflight_from_elsewhere_is_refused_in_json(cors_client):
    response = await cors_client.options(
        "/api/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    body = assert_json_error(response, 400)
    assert body == {"status": "error", "message": "disallowed cors origin"}
    assert "access-control-allow-origin" not in response.headers


async def test_cors_headers_on_answers_to_the_spa(cors_client):
    await cors_client.post("/api/auth/register", json=REGISTRATION)
    token = await user_token_via(cors_client)
    response = await cors_client.get("/api/auth/profile", headers={**bearer(token), "Origin": SPA})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    error_response = await cors_client.get("/api/auth/profile", headers={"Origin": SPA})
    assert error_response.status_code == 401
    assert error_response.headers["access-control-allow-origin"] == SPA


async def user_token_via(http: httpx.AsyncClient) -> str:
    response = await http.post(
        "/api/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()["auth_token"]


async def test_without_cors_origins_no_cors_headers_are_sent(client):
    token = await user_token(client, "alice")
    response = await client.get("/api/auth/profile", headers={**bearer(token), "Origin": SPA})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_answers_carrying_a_secret_are_never_cached(client):
    """The JWT of a login, the client_secret of a new app and the code in an authorize
    answer's redirect_url: `Cache-Control: no-store` (RFC 6749 §5.1, §10.5)."""
    token = await user_token(client)
    login = await client.post(
        "/api/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    created = await client.post(
        "/api/oauth/apps",
        json={
            "client_name": "a",
            "client_uri": "https://example.com",
            "redirect_uris": ["https://example.com/cb"],
            "scope": "profile:read",
        },
        headers=bearer(token),
    )
    assert created.status_code == 201
    authorized = await client.post(
        "/api/oauth/authorize",
        data={
            "client_id": created.json()["data"]["client"]["client_id"],
            "response_type": "code",
            "confirm": "true",
        },
        headers=bearer(token),
    )
    assert authorized.status_code == 200
    for response in (login, created, authorized):
        assert response.headers["cache-control"] == "no-store", response.request.url
        assert response.headers["pragma"] == "no-cache"
