"""Small HTTP helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "CapPassw0rd!"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: httpx.AsyncClient, username: str = "alice", **extra: Any) -> None:
    body = {
        "username": username,
        "email": f"{username}@example.com",
        "password": PASSWORD,
        "accepted_policy": True,
        **extra,
    }
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 200, response.text


async def login(client: httpx.AsyncClient, username: str = "alice") -> str:
    response = await client.post(
        "/api/auth/login", json={"email": f"{username}@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()["auth_token"]


async def user_token(client: httpx.AsyncClient, username: str = "alice") -> str:
    """Register `username` and return their first-party auth token."""
    await register(client, username)
    return await login(client, username)


def app_payload(**overrides: Any) -> dict[str, Any]:
    return {
        "client_name": "Cap App",
        "client_uri": "https://example.com",
        "client_description": "desc",
        "redirect_uris": ["https://example.com/cb", "https://example.com/cb2"],
        "scope": "profile:read workouts:read",
        **overrides,
    }


async def create_app(client: httpx.AsyncClient, token: str, **overrides: Any) -> dict[str, Any]:
    """Create an OAuth2 client for the token's user; the JSON `client` (with its secret)."""
    response = await client.post(
        "/api/oauth/apps", json=app_payload(**overrides), headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]["client"]


# --- OAuth2 flow helpers (authorize, exchange, refresh, revoke) ---------------------------

REDIRECT_URI = "https://example.com/cb"


def pkce_pair(verifier: str | None = None) -> tuple[str, str]:
    """A (code_verifier, S256 code_challenge) pair (RFC 7636 §4.1, §4.2)."""
    import base64
    import hashlib
    import secrets

    verifier = verifier or secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def authorize(
    client: httpx.AsyncClient, token: str, oauth_app: dict[str, Any], **fields: Any
) -> httpx.Response:
    """POST /api/oauth/authorize as the user; `fields` override the defaults (None drops one).

    Defaults: the app's client_id, response_type=code, confirm=true, state=st4te; no PKCE.
    """
    form = {
        "client_id": oauth_app["client_id"],
        "response_type": "code",
        "confirm": "true",
        "state": "st4te",
        **fields,
    }
    form = {key: value for key, value in form.items() if value is not None}
    return await client.post("/api/oauth/authorize", data=form, headers=bearer(token))


def code_from(response: httpx.Response) -> str:
    """The `code` in a successful authorize answer's redirect_url."""
    from urllib.parse import parse_qs, urlsplit

    assert response.status_code == 200, response.text
    query = parse_qs(urlsplit(response.json()["redirect_url"]).query)
    return query["code"][0]


async def token_request(
    client: httpx.AsyncClient,
    oauth_app: dict[str, Any] | None,
    *,
    basic: bool = False,
    **fields: Any,
) -> httpx.Response:
    """POST /api/oauth/token authenticated as `oauth_app` (client_secret_post, or
    client_secret_basic with `basic=True`; none when `oauth_app` is None)."""
    return await _client_post(client, "/api/oauth/token", oauth_app, basic, fields)


async def revoke_request(
    client: httpx.AsyncClient,
    oauth_app: dict[str, Any] | None,
    *,
    basic: bool = False,
    **fields: Any,
) -> httpx.Response:
    """POST /api/oauth/revoke, authenticated as for `token_request`."""
    return await _client_post(client, "/api/oauth/revoke", oauth_app, basic, fields)


async def introspect_request(
    client: httpx.AsyncClient,
    oauth_app: dict[str, Any] | None,
    *,
    basic: bool = False,
    **fields: Any,
) -> httpx.Response:
    """POST /api/oauth/introspect, authenticated as for `token_request`."""
    return await _client_post(client, "/api/oauth/introspect", oauth_app, basic, fields)


async def profile_status(client: httpx.AsyncClient, access_token: str) -> int:
    """The status of GET /api/auth/profile with `access_token`."""
    return (await client.get("/api/auth/profile", headers=bearer(access_token))).status_code


async def _client_post(
    client: httpx.AsyncClient,
    path: str,
    oauth_app: dict[str, Any] | None,
    basic: bool,
    fields: dict[str, Any],
) -> httpx.Response:
    form = {key: value for key, value in fields.items() if value is not None}
    auth = None
    if oauth_app is not None and basic:
        auth = httpx.BasicAuth(oauth_app["client_id"], oauth_app["client_secret"])
    elif oauth_app is not None:
        form = {
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
            **form,
        }
    return await client.post(path, data=form, auth=auth)


async def exchange_code(
    client: httpx.AsyncClient, oauth_app: dict[str, Any], code: str, **fields: Any
) -> httpx.Response:
    return await token_request(
        client, oauth_app, grant_type="authorization_code", code=code, **fields
    )


async def issue_tokens(
    client: httpx.AsyncClient, token: str, oauth_app: dict[str, Any], **authorize_fields: Any
) -> dict[str, Any]:
    """The whole code flow with PKCE (S256): the token response's JSON."""
    verifier, challenge = pkce_pair()
    response = await authorize(
        client,
        token,
        oauth_app,
        code_challenge=challenge,
        code_challenge_method="S256",
        **authorize_fields,
    )
    exchanged = await exchange_code(
        client,
        oauth_app,
        code_from(response),
        code_verifier=verifier,
        redirect_uri=authorize_fields.get("redirect_uri"),
    )
    assert exchanged.status_code == 200, exchanged.text
    return exchanged.json()


async def refresh_tokens(
    client: httpx.AsyncClient, oauth_app: dict[str, Any], refresh_token: str, **fields: Any
) -> httpx.Response:
    return await token_request(
        client, oauth_app, grant_type="refresh_token", refresh_token=refresh_token, **fields
    )


# --- the server-rendered pages (a cookie session) -------------------------------------------

PAGE_ORIGIN = {"Origin": "http://testserver"}


def form_value(html: str, name: str) -> str:
    """The value of the first `<input name=...>` of a page (e.g. its `csrf_token`)."""
    import html as html_module
    import re

    match = re.search(rf'<input [^>]*name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"no input {name!r} on the page"
    return html_module.unescape(match.group(1))


async def page_login(
    client: httpx.AsyncClient, username: str = "alice", next_url: str | None = None
) -> httpx.Response:
    """Log in on `/login` as a browser would (the client keeps the session cookie); the
    303 answered."""
    form = {"email": f"{username}@example.com", "password": PASSWORD}
    if next_url is not None:
        form["next"] = next_url
    response = await client.post("/login", data=form, headers=PAGE_ORIGIN)
    assert response.status_code == 303, response.text
    return response
