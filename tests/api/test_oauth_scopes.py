"""Scoped access to protected resources with OAuth2 access tokens (issue 4 §4, RFC 6750):
GET /api/auth/profile needs profile:read, POST /api/auth/profile/edit needs profile:write; the
user's own token opens both; app management and authorize refuse access tokens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app import clock
from tests.helpers import (
    authorize,
    bearer,
    create_app,
    issue_tokens,
    revoke_request,
)

INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": (
        "The access token provided is expired, revoked, malformed, or invalid for other reasons."
    ),
}
INSUFFICIENT = {
    "error": "insufficient_scope",
    "error_description": (
        "The request requires higher privileges than provided by the access token."
    ),
}


@pytest.fixture
async def oauth_app(client: httpx.AsyncClient, alice: str) -> dict[str, Any]:
    return await create_app(client, alice, scope="profile:read profile:write workouts:read")


async def token_with(client, alice, oauth_app, scope: str) -> str:
    return (await issue_tokens(client, alice, oauth_app, scope=scope))["access_token"]


async def edit(client: httpx.AsyncClient, token: str, **fields: Any) -> httpx.Response:
    return await client.post("/api/auth/profile/edit", json=fields, headers=bearer(token))


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == INVALID_TOKEN
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge


def assert_insufficient(response: httpx.Response, scope: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == INSUFFICIENT
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge and f'scope="{scope}"' in challenge


async def test_profile_read_token_reads_the_profile(client, alice, oauth_app) -> None:
    token = await token_with(client, alice, oauth_app, "profile:read")
    response = await client.get("/api/auth/profile", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["data"]["username"] == "alice"
    assert response.json()["status"] == "success"


async def test_profile_needs_profile_read(client, alice, oauth_app) -> None:
    token = await token_with(client, alice, oauth_app, "workouts:read")
    assert_insufficient(
        await client.get("/api/auth/profile", headers=bearer(token)), "profile:read"
    )


async def test_edit_needs_profile_write(client, alice, oauth_app) -> None:
    token = await token_with(client, alice, oauth_app, "profile:read")
    assert_insufficient(await edit(client, token, first_name="Mallory"), "profile:write")
    profile = await client.get("/api/auth/profile", headers=bearer(alice))
    assert profile.json()["data"]["first_name"] is None


async def test_profile_write_token_edits(client, alice, oauth_app) -> None:
    token = await token_with(client, alice, oauth_app, "profile:write")
    response = await edit(
        client, token, first_name="Alice", last_name="Liddell", bio="runs", location="Oxford"
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["first_name"], data["last_name"], data["bio"], data["location"]) == (
        "Alice",
        "Liddell",
        "runs",
        "Oxford",
    )
    # A write scope does not imply the read scope.
    assert_insufficient(
        await client.get("/api/auth/profile", headers=bearer(token)), "profile:read"
    )
    profile = await client.get("/api/auth/profile", headers=bearer(alice))
    assert profile.json()["data"]["location"] == "Oxford"


async def test_the_users_own_token_has_full_access(client, alice) -> None:
    assert (await client.get("/api/auth/profile", headers=bearer(alice))).status_code == 200
    response = await edit(client, alice, bio="first party")
    assert response.status_code == 200
    assert response.json()["data"]["bio"] == "first party"


async def test_no_credentials_is_401_with_a_bearer_challenge(client) -> None:
    for response in (
        await client.get("/api/auth/profile"),
        await client.post("/api/auth/profile/edit", json={"bio": "x"}),
    ):
        assert response.status_code == 401
        assert response.json() == {"status": "error", "message": "provide a valid auth token"}
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("token", ["garbage", "a" * 42, "b" * 300])
async def test_unknown_token_is_invalid_token(client, token) -> None:
    assert_invalid_token(await client.get("/api/auth/profile", headers=bearer(token)))


async def test_revoked_token_is_invalid_token(client, alice, oauth_app) -> None:
    tokens = await issue_tokens(client, alice, oauth_app, scope="profile:read")
    await revoke_request(client, oauth_app, token=tokens["access_token"])
    assert_invalid_token(
        await client.get("/api/auth/profile", headers=bearer(tokens["access_token"]))
    )


async def test_expired_token_is_invalid_token(client, alice, oauth_app) -> None:
    token = await token_with(client, alice, oauth_app, "profile:read")
    clock.advance(864000 - 5)
    assert (await client.get("/api/auth/profile", headers=bearer(token))).status_code == 200
    clock.advance(10)
    assert_invalid_token(await client.get("/api/auth/profile", headers=bearer(token)))


async def test_deleted_app_token_is_invalid_token(client, alice, oauth_app) -> None:
    token = await token_with(client, alice, oauth_app, "profile:read")
    deleted = await client.delete(f"/api/oauth/apps/{oauth_app['id']}", headers=bearer(alice))
    assert deleted.status_code == 204
    assert_invalid_token(await client.get("/api/auth/profile", headers=bearer(token)))


async def test_first_party_endpoints_refuse_access_tokens(client, alice, oauth_app) -> None:
    every_scope = await create_app(
        client,
        alice,
        scope="application:write profile:read profile:write users:read users:write "
        "workouts:read workouts:write",
    )
    token = (await issue_tokens(client, alice, every_scope))["access_token"]
    assert (await client.get("/api/oauth/apps", headers=bearer(token))).status_code == 401
    assert (await authorize(client, token, oauth_app)).status_code == 401
