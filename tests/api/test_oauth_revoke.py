"""POST /api/oauth/revoke (RFC 7009) over HTTP (issue 4 §3)."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import (
    create_app,
    profile_status,
    refresh_tokens,
    revoke_request,
)


def assert_ok(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


@pytest.mark.parametrize("basic", [False, True], ids=["client_secret_post", "client_secret_basic"])
@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token", "foo"])
async def test_revoking_the_access_token_kills_the_pair(
    client, oauth_app, tokens, basic, hint
) -> None:
    assert_ok(
        await revoke_request(
            client, oauth_app, basic=basic, token=tokens["access_token"], token_type_hint=hint
        )
    )
    assert await profile_status(client, tokens["access_token"]) == 401
    response = await refresh_tokens(client, oauth_app, tokens["refresh_token"])
    assert response.json() == {"error": "invalid_grant"}


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token", "foo"])
async def test_revoking_the_refresh_token_kills_the_pair(client, oauth_app, tokens, hint) -> None:
    assert_ok(
        await revoke_request(client, oauth_app, token=tokens["refresh_token"], token_type_hint=hint)
    )
    assert await profile_status(client, tokens["access_token"]) == 401
    response = await refresh_tokens(client, oauth_app, tokens["refresh_token"])
    assert response.json() == {"error": "invalid_grant"}


async def test_unknown_and_already_revoked_tokens_are_200(client, oauth_app, tokens) -> None:
    assert_ok(await revoke_request(client, oauth_app, token="doesnotexist"))
    assert_ok(await revoke_request(client, oauth_app, token="x" * 4000))
    assert_ok(await revoke_request(client, oauth_app, token=tokens["access_token"]))
    assert_ok(await revoke_request(client, oauth_app, token=tokens["access_token"]))


async def test_another_clients_token_is_200_and_stays_valid(client, alice, oauth_app, tokens):
    other = await create_app(client, alice)
    assert_ok(await revoke_request(client, other, token=tokens["access_token"]))
    assert_ok(await revoke_request(client, other, token=tokens["refresh_token"]))
    assert await profile_status(client, tokens["access_token"]) == 200
    assert (await refresh_tokens(client, oauth_app, tokens["refresh_token"])).status_code == 200


async def test_revoking_after_rotation_targets_the_live_pair(client, oauth_app, tokens) -> None:
    new = (await refresh_tokens(client, oauth_app, tokens["refresh_token"])).json()
    assert_ok(await revoke_request(client, oauth_app, token=new["refresh_token"]))
    assert await profile_status(client, new["access_token"]) == 401


async def test_token_is_required(client, oauth_app) -> None:
    response = await revoke_request(client, oauth_app)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": 'Missing "token" in request.',
    }


async def test_client_authentication_is_required(client, oauth_app, tokens) -> None:
    response = await revoke_request(client, None, token=tokens["access_token"])
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
    response = await revoke_request(
        client, {**oauth_app, "client_secret": "x"}, basic=True, token=tokens["access_token"]
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="oauth2"'
    assert await profile_status(client, tokens["access_token"]) == 200


async def test_bad_requests_are_4xx_json(client, oauth_app, tokens) -> None:
    assert (await client.get("/api/oauth/revoke")).status_code == 405
    response = await client.post("/api/oauth/revoke", json={"token": tokens["access_token"]})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    body = f"token={tokens['access_token']}&token=other"
    response = await client.post(
        "/api/oauth/revoke",
        content=body,
        auth=(oauth_app["client_id"], oauth_app["client_secret"]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert await profile_status(client, tokens["access_token"]) == 200
