"""End to end with a real third-party OAuth2 client library (issue 4 §5): Authlib's httpx
client against a real uvicorn process, through the whole flow: PKCE code flow, profile call,
refresh, revoke, with client_secret_post and with client_secret_basic.

The consent page does not exist yet, so the user's approval is the first-party client's
POST /api/oauth/authorize with the parameters of the URL Authlib built.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError as AuthlibOAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.helpers import PASSWORD, bearer
from tests.live_server import live_server

REDIRECT_URI = "http://127.0.0.1:8999/callback"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with live_server(database_url) as base_url:
        yield base_url


async def first_party_login(http: httpx.AsyncClient) -> str:
    """Register a fresh user and log in: the first-party auth token."""
    username = f"e2e_{secrets.token_hex(4)}"
    email = f"{username}@example.com"
    registered = await http.post(
        "/api/auth/register",
        json={"username": username, "email": email, "password": PASSWORD, "accepted_policy": True},
    )
    assert registered.status_code == 200, registered.text
    logged_in = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert logged_in.status_code == 200, logged_in.text
    return logged_in.json()["auth_token"]


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
async def test_authlib_pkce_flow(server: str, auth_method: str) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        user_token = await first_party_login(http)
        created = await http.post(
            "/api/oauth/apps",
            json={
                "client_name": "Authlib e2e",
                "client_uri": "http://127.0.0.1:8999",
                "redirect_uris": [REDIRECT_URI],
                "scope": "profile:read profile:write",
            },
            headers=bearer(user_token),
        )
        assert created.status_code == 201, created.text
        app = created.json()["data"]["client"]

        async with AsyncOAuth2Client(
            client_id=app["client_id"],
            client_secret=app["client_secret"],
            scope="profile:read",
            redirect_uri=REDIRECT_URI,
            code_challenge_method="S256",
            token_endpoint_auth_method=auth_method,
            revocation_endpoint_auth_method=auth_method,
        ) as oauth:
            sent: list[httpx.Request] = []

            async def record(request: httpx.Request) -> None:
                sent.append(request)

            oauth.event_hooks["request"].append(record)

            # 1. The client builds the authorization URL (PKCE S256).
            verifier = generate_token(64)
            url, state = oauth.create_authorization_url(
                f"{server}/profile/apps/authorize", code_verifier=verifier
            )
            query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
            assert query["code_challenge_method"] == "S256"
            assert query["state"] == state

            # 2. The user approves it in the first-party client.
            approval = await http.post(
                "/api/oauth/authorize",
                data={**query, "confirm": "true"},
                headers=bearer(user_token),
            )
            assert approval.status_code == 200, approval.text
            callback = approval.json()["redirect_url"]
            assert callback.startswith(REDIRECT_URI + "?code=")

            # 3. The client exchanges the code; Authlib checks the echoed state.
            token = await oauth.fetch_token(
                f"{server}/api/oauth/token",
                authorization_response=callback,
                code_verifier=verifier,
            )
            assert token["token_type"] == "Bearer"
            assert token["scope"] == "profile:read"
            assert token["expires_in"] == 864000
            first_access = token["access_token"]

            # 4. The access token opens the profile, and nothing its scope does not allow.
            profile = await oauth.get(f"{server}/api/auth/profile")
            assert profile.status_code == 200, profile.text
            assert profile.json()["data"]["username"].startswith("e2e_")
            edit = await oauth.post(f"{server}/api/auth/profile/edit", json={"bio": "x"})
            assert edit.status_code == 403
            assert 'scope="profile:write"' in edit.headers["www-authenticate"]

            # 5. Refresh: a new pair; the old access token stops working.
            refreshed = await oauth.refresh_token(f"{server}/api/oauth/token")
            assert refreshed["access_token"] != first_access
            assert refreshed["refresh_token"] != token["refresh_token"]
            assert refreshed["scope"] == "profile:read"
            old = await http.get("/api/auth/profile", headers=bearer(first_access))
            assert old.status_code == 401
            assert (await oauth.get(f"{server}/api/auth/profile")).status_code == 200

            # 6. Revoke the access token: its refresh token dies with it.
            revoked = await oauth.revoke_token(
                f"{server}/api/oauth/revoke",
                token=refreshed["access_token"],
                token_type_hint="access_token",
            )
            assert revoked.status_code == 200
            assert revoked.json() == {}
            gone = await http.get("/api/auth/profile", headers=bearer(refreshed["access_token"]))
            assert gone.status_code == 401
            with pytest.raises(AuthlibOAuthError) as refused:
                await oauth.refresh_token(f"{server}/api/oauth/token")
            assert refused.value.error == "invalid_grant"

        # Every client-authenticated call used the method under test.
        client_calls = [r for r in sent if r.url.path in ("/api/oauth/token", "/api/oauth/revoke")]
        assert len(client_calls) == 4
        for request in client_calls:
            uses_basic = request.headers.get("authorization", "").startswith("Basic ")
            secret_in_body = b"client_secret=" in request.content
            assert (uses_basic, secret_in_body) == (
                (True, False) if auth_method == "client_secret_basic" else (False, True)
            )
