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
