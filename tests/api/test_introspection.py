"""POST /api/oauth/introspect (RFC 7662), as a resource server calls it: client-authenticated
like /token; a client's own live token is described, anything else is `{"active": false}`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app import clock
from app.config import Settings
from app.db.models import User
from app.main import create_app
from tests.helpers import (
    bearer,
    issue_tokens,
    refresh_tokens,
    revoke_request,
    user_token,
)
from tests.helpers import create_app as create_oauth_app
from tests.helpers import (
    introspect_request as introspect,
)

INTROSPECT = "/api/oauth/introspect"
INACTIVE = {"active": False}
ACCESS_LIFETIME = 864000
REFRESH_LIFETIME = 2 * ACCESS_LIFETIME


async def user_id_of(app: FastAPI, username: str) -> int:
    async with app.state.services.db.engine.connect() as conn:
        return await conn.scalar(select(User.id).where(User.username == username))


@pytest.fixture
async def oauth_app(client: httpx.AsyncClient, alice: str) -> dict[str, Any]:
    return await create_oauth_app(client, alice)


@pytest.fixture
async def tokens(client: httpx.AsyncClient, alice: str, oauth_app: dict[str, Any]) -> dict:
    return await issue_tokens(client, alice, oauth_app, scope="profile:read")


def assert_no_store(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


# --- active tokens ------------------------------------------------------------------------


async def test_an_active_access_token_is_described_per_rfc7662(
    client, app, oauth_app, tokens
) -> None:
    issued_at = int(clock.utcnow().timestamp())
    response = await introspect(client, oauth_app, token=tokens["access_token"])

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert_no_store(response)
    body = response.json()
    assert abs(body["iat"] - issued_at) <= 2
    assert body == {
        "active": True,
        "scope": "profile:read",
        "client_id": oauth_app["client_id"],
        "username": "alice",
        "sub": str(await user_id_of(app, "alice")),
        "token_type": "Bearer",
        "exp": body["iat"] + ACCESS_LIFETIME,
        "iat": body["iat"],
    }
    assert isinstance(body["exp"], int) and isinstance(body["iat"], int)


async def test_an_active_refresh_token_has_its_own_expiry_and_no_token_type(
    client, oauth_app, tokens
) -> None:
    response = await introspect(client, oauth_app, basic=True, token=tokens["refresh_token"])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active"] is True
    assert body["scope"] == "profile:read"
    assert body["client_id"] == oauth_app["client_id"]
    assert body["username"] == "alice"
    assert "token_type" not in body
    assert body["exp"] == body["iat"] + REFRESH_LIFETIME


async def test_token_type_hint_is_ignored(client, oauth_app, tokens) -> None:
    for hint in ("refresh_token", "access_token", "something_else"):
        response = await introspect(
            client, oauth_app, token=tokens["access_token"], token_type_hint=hint
        )
        assert response.status_code == 200
        assert response.json()["token_type"] == "Bearer"


async def test_introspection_does_not_use_up_or_change_the_token(client, oauth_app, tokens) -> None:
    for _ in range(3):
        assert (await introspect(client, oauth_app, token=tokens["access_token"])).json()["active"]
    profile = await client.get("/api/auth/profile", headers=bearer(tokens["access_token"]))
    assert profile.status_code == 200
    assert (await refresh_tokens(client, oauth_app, tokens["refresh_token"])).status_code == 200


# --- inactive: exactly {"active": false} ---------------------------------------------------


async def test_an_unknown_or_absurdly_long_token_is_inactive(client, oauth_app) -> None:
    for token in ("nope", "x" * 42, "y" * 257, "z" * 4096, "\x00", "é"):
        response = await introspect(client, oauth_app, token=token)
        assert response.status_code == 200, response.text
        assert response.json() == INACTIVE
        assert_no_store(response)


async def test_an_expired_access_token_is_inactive_while_its_refresh_token_lives(
    client, oauth_app, tokens
) -> None:
    clock.advance(ACCESS_LIFETIME)
    assert (await introspect(client, oauth_app, token=tokens["access_token"])).json() == INACTIVE
    refresh = await introspect(client, oauth_app, token=tokens["refresh_token"])
    assert refresh.json()["active"] is True

    clock.advance(ACCESS_LIFETIME)
    assert (await introspect(client, oauth_app, token=tokens["refresh_token"])).json() == INACTIVE


async def test_a_revoked_pair_is_inactive(client, oauth_app, tokens) -> None:
    revoked = await revoke_request(client, oauth_app, token=tokens["refresh_token"])
    assert revoked.status_code == 200
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await introspect(client, oauth_app, token=token)).json() == INACTIVE


async def test_a_rotated_pair_is_inactive_and_the_new_pair_active(client, oauth_app, tokens):
    rotated = await refresh_tokens(client, oauth_app, tokens["refresh_token"])
    assert rotated.status_code == 200
    new = rotated.json()
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await introspect(client, oauth_app, token=token)).json() == INACTIVE
    for token in (new["access_token"], new["refresh_token"]):
        assert (await introspect(client, oauth_app, token=token)).json()["active"] is True


async def test_another_clients_token_is_inactive_and_stays_valid(
    client, alice, oauth_app, tokens
) -> None:
    """RFC 7662 §4: nothing about another client's token is revealed, not even that it
    exists; and asking does not hurt it."""
    other_app = await create_oauth_app(client, alice)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = await introspect(client, other_app, token=token)
        assert response.status_code == 200
        assert response.json() == INACTIVE

    assert (await introspect(client, oauth_app, token=tokens["access_token"])).json()["active"]
    profile = await client.get("/api/auth/profile", headers=bearer(tokens["access_token"]))
    assert profile.status_code == 200


async def test_a_first_party_user_token_is_not_an_oauth2_token(client, alice, oauth_app):
    assert (await introspect(client, oauth_app, token=alice)).json() == INACTIVE


async def test_a_deactivated_users_token_is_inactive(client, app: FastAPI, oauth_app, tokens):
    async with app.state.services.db.engine.begin() as conn:
        await conn.execute(update(User).values(is_active=False))
    assert (await introspect(client, oauth_app, token=tokens["access_token"])).json() == INACTIVE


# --- client authentication and malformed requests -----------------------------------------


async def test_a_wrong_secret_is_invalid_client_with_basic_challenge_only_for_basic(
    client, oauth_app, tokens
) -> None:
    wrong = {**oauth_app, "client_secret": "w" * 48}

    posted = await introspect(client, wrong, token=tokens["access_token"])
    assert posted.status_code == 401
    assert posted.json()["error"] == "invalid_client"
    assert "www-authenticate" not in posted.headers
    assert_no_store(posted)

    basic = await introspect(client, wrong, basic=True, token=tokens["access_token"])
    assert basic.status_code == 401
    assert basic.json()["error"] == "invalid_client"
    assert basic.headers["www-authenticate"] == 'Basic realm="oauth2"'


async def test_no_client_authentication_is_invalid_client(client, tokens) -> None:
    response = await introspect(client, None, token=tokens["access_token"])
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_an_unknown_client_is_invalid_client(client, tokens) -> None:
    stranger = {"client_id": "z" * 24, "client_secret": "s" * 48}
    response = await introspect(client, stranger, token=tokens["access_token"])
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_a_missing_token_is_invalid_request(client, oauth_app) -> None:
    for fields in ({}, {"token": ""}, {"token_type_hint": "access_token"}):
        response = await introspect(client, oauth_app, **fields)
        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_request",
            "error_description": 'Missing "token" in request.',
        }
        assert_no_store(response)


async def test_a_body_that_is_not_a_form_is_invalid_request(client, oauth_app) -> None:
    response = await client.post(
        INTROSPECT, json={"token": "t", **oauth_app}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_a_token_sent_twice_is_invalid_request(client, oauth_app) -> None:
    body = (
        f"client_id={oauth_app['client_id']}&client_secret={oauth_app['client_secret']}"
        "&token=a&token=b"
    )
    response = await client.post(
        INTROSPECT,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_only_post_is_allowed(client) -> None:
    response = await client.get(INTROSPECT)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_discovery_points_at_this_endpoint(client, oauth_app, tokens) -> None:
    metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
    url = httpx.URL(metadata["introspection_endpoint"])
    form = {**{k: oauth_app[k] for k in ("client_id", "client_secret")}}
    response = await client.post(url.path, data={**form, "token": tokens["access_token"]})
    assert response.status_code == 200
    assert response.json()["active"] is True


# --- cost and brute-force protection -------------------------------------------------------


async def test_one_query_after_client_authentication(client, oauth_app, tokens, statements):
    for token in (tokens["access_token"], tokens["refresh_token"], "unknown"):
        statements.clear()
        response = await introspect(client, oauth_app, token=token)
        assert response.status_code == 200
        # the client, then the token with its client_id and username
        assert statements == ["SELECT", "SELECT"]


@asynccontextmanager
async def rate_limited_app(settings: Settings, failures: int) -> AsyncIterator[httpx.AsyncClient]:
    values = {"rate_limits_enabled": True, "rate_limit_client_failures": failures}
    application = create_app(settings.model_copy(update={**values, "access_log": False}))
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await application.state.services.db.dispose()
        await application.state.services.rate_limits.close()


async def test_failed_client_authentications_lock_the_client_id_from_that_ip(app, settings) -> None:
    async with rate_limited_app(settings, failures=2) as http:
        owner = await user_token(http, "owner")
        oauth_app = await create_oauth_app(http, owner)
        wrong = {**oauth_app, "client_secret": "w" * 48}
        for _ in range(2):
            assert (await introspect(http, wrong, token="t")).status_code == 401
        locked = await introspect(http, oauth_app, token="t")
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
        assert locked.json()["error"] == "temporarily_unavailable"
        assert locked.headers["cache-control"] == "no-store"
