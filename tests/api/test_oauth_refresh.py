"""POST /api/oauth/token with grant_type=refresh_token: rotation and reuse detection, over
HTTP (issue 4 §2)."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import (
    create_app,
    issue_tokens,
    profile_status,
    refresh_tokens,
)

INVALID_GRANT = {"error": "invalid_grant"}


def assert_invalid_grant(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == INVALID_GRANT
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("basic", [False, True], ids=["client_secret_post", "client_secret_basic"])
async def test_refresh_rotates_both_tokens(client, oauth_app, tokens, basic) -> None:
    response = await refresh_tokens(client, oauth_app, tokens["refresh_token"], basic=basic)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    new = response.json()
    assert set(new) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert new["scope"] == tokens["scope"]
    assert new["token_type"] == "Bearer" and new["expires_in"] == 864000
    assert new["refresh_token"] != tokens["refresh_token"]
    assert await profile_status(client, tokens["access_token"]) == 401
    assert await profile_status(client, new["access_token"]) == 200


async def test_rotated_refresh_token_reused_revokes_the_family(client, oauth_app, tokens) -> None:
    second = (await refresh_tokens(client, oauth_app, tokens["refresh_token"])).json()
    third = (await refresh_tokens(client, oauth_app, second["refresh_token"])).json()

    assert_invalid_grant(await refresh_tokens(client, oauth_app, tokens["refresh_token"]))

    assert await profile_status(client, third["access_token"]) == 401
    assert_invalid_grant(await refresh_tokens(client, oauth_app, third["refresh_token"]))


async def test_family_revocation_spares_other_grants(client, alice, oauth_app, tokens) -> None:
    other = await issue_tokens(client, alice, oauth_app)
    await refresh_tokens(client, oauth_app, tokens["refresh_token"])
    assert_invalid_grant(await refresh_tokens(client, oauth_app, tokens["refresh_token"]))
    assert await profile_status(client, other["access_token"]) == 200


async def test_narrower_scope(client, oauth_app, tokens) -> None:
    response = await refresh_tokens(
        client, oauth_app, tokens["refresh_token"], scope="workouts:read"
    )
    assert response.status_code == 200
    narrowed = response.json()
    assert narrowed["scope"] == "workouts:read"
    assert await profile_status(client, narrowed["access_token"]) == 403


@pytest.mark.parametrize("scope", ["profile:read profile:write", "admin:all", "users:read"])
async def test_wider_scope_is_invalid_scope(client, oauth_app, tokens, scope) -> None:
    response = await refresh_tokens(client, oauth_app, tokens["refresh_token"], scope=scope)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_scope",
        "error_description": "The requested scope is invalid, unknown, or malformed.",
    }
    # The refused refresh spent nothing.
    assert await profile_status(client, tokens["access_token"]) == 200
    assert (await refresh_tokens(client, oauth_app, tokens["refresh_token"])).status_code == 200


async def test_refresh_token_is_bound_to_its_client(client, alice, oauth_app, tokens) -> None:
    other = await create_app(client, alice)
    assert_invalid_grant(await refresh_tokens(client, other, tokens["refresh_token"]))
    assert await profile_status(client, tokens["access_token"]) == 200
    assert (await refresh_tokens(client, oauth_app, tokens["refresh_token"])).status_code == 200


async def test_wrong_secret(client, oauth_app, tokens) -> None:
    response = await refresh_tokens(
        client, {**oauth_app, "client_secret": "x"}, tokens["refresh_token"]
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


async def test_unknown_missing_and_access_token_as_refresh(client, oauth_app, tokens) -> None:
    assert_invalid_grant(await refresh_tokens(client, oauth_app, "nope"))
    assert_invalid_grant(await refresh_tokens(client, oauth_app, tokens["access_token"]))
    response = await refresh_tokens(client, oauth_app, None)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": 'Missing "refresh_token" in request.',
    }
