"""The issue's brute-force scenarios against a live server, each client IP played with
`X-Forwarded-For` (uvicorn trusts it from 127.0.0.1, its default `FORWARDED_ALLOW_IPS`).

Shared by the one-worker test (`tests/test_ratelimit_live.py`) and the four-worker one on
PostgreSQL and Redis (`tests/races/test_rate_limits.py`)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.helpers import PASSWORD, bearer, issue_tokens

LOGIN_FAILURES = 10  # RATE_LIMIT_LOGIN_FAILURES's default
CLIENT_FAILURES = 20  # RATE_LIMIT_CLIENT_FAILURES's default


def from_ip(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


def fresh_ip() -> str:
    """An address of TEST-NET-3 no other test of this run uses."""
    return f"203.0.{secrets.randbelow(100) + 113}.{secrets.randbelow(250) + 1}"


@asynccontextmanager
async def burst_client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        yield http


async def register_and_login(http: httpx.AsyncClient, ip: str) -> tuple[str, str]:
    """A new user (e-mail, auth token), registered and logged in from `ip`."""
    name = f"u{secrets.token_hex(5)}"
    email = f"{name}@example.com"
    body = {"username": name, "email": email, "password": PASSWORD, "accepted_policy": True}
    registered = await http.post("/api/auth/register", json=body, headers=from_ip(ip))
    assert registered.status_code == 200, registered.text
    logged_in = await http.post(
        "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=from_ip(ip)
    )
    assert logged_in.status_code == 200, logged_in.text
    return email, logged_in.json()["auth_token"]


async def sixty_wrong_logins_and_the_owner_elsewhere(http: httpx.AsyncClient) -> None:
    """60 wrong passwords for one account at once from one IP: the limit's worth checked
    (401), the rest 429; the owner logs in from another IP throughout, and from a third,
    brand-new one, after."""
    owner_ip, attacker_ip = fresh_ip(), fresh_ip()
    email, _ = await register_and_login(http, owner_ip)

    def attempt(ip: str, password: str) -> Any:
        body = {"email": email, "password": password}
        return http.post("/api/auth/login", json=body, headers=from_ip(ip))

    wrong = [attempt(attacker_ip, f"guess-{i}") for i in range(60)]
    right = [attempt(owner_ip, PASSWORD) for _ in range(3)]
    responses = await asyncio.gather(*wrong[:30], *right, *wrong[30:])
    owners = responses[30:33]
    attackers = responses[:30] + responses[33:]
    assert [r.status_code for r in owners] == [200] * 3, [r.text for r in owners]
    statuses = sorted(r.status_code for r in attackers)
    assert statuses == [401] * LOGIN_FAILURES + [429] * (60 - LOGIN_FAILURES), statuses
    refused = next(r for r in attackers if r.status_code == 429)
    assert refused.json() == {"status": "error", "message": "too many requests, retry later"}
    assert refused.headers["cache-control"] == "no-store"
    assert 1 <= int(refused.headers["retry-after"]) <= 900
    assert (await attempt(attacker_ip, PASSWORD)).status_code == 429  # unchecked
    assert (await attempt(fresh_ip(), PASSWORD)).status_code == 200


async def two_hundred_wrong_secrets_and_the_client_elsewhere(http: httpx.AsyncClient) -> None:
    """200 wrong client secrets at once from one IP: the limit's worth checked (401), the
    rest 429; the client refreshes from its own IP throughout."""
    backend_ip, attacker_ip = fresh_ip(), fresh_ip()
    _, user = await register_and_login(http, backend_ip)
    created = await http.post(
        "/api/oauth/apps",
        json={
            "client_name": "busy",
            "client_uri": "https://example.com",
            "redirect_uris": ["https://example.com/cb"],
            "scope": "profile:read",
        },
        headers={**bearer(user), **from_ip(backend_ip)},
    )
    assert created.status_code == 201, created.text
    oauth_app = created.json()["data"]["client"]
    backend = httpx.AsyncClient(
        base_url=str(http.base_url), headers=from_ip(backend_ip), timeout=60
    )
    async with backend:
        tokens = await issue_tokens(backend, user, oauth_app)

        def guess() -> Any:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": "r",
                "client_id": oauth_app["client_id"],
                "client_secret": secrets.token_urlsafe(36),
            }
            return http.post("/api/oauth/token", data=form, headers=from_ip(attacker_ip))

        async def refresh() -> httpx.Response:
            nonlocal tokens
            form = {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": oauth_app["client_id"],
                "client_secret": oauth_app["client_secret"],
            }
            response = await backend.post("/api/oauth/token", data=form)
            if response.status_code == 200:
                tokens = response.json()
            return response

        guesses = [guess() for _ in range(200)]
        responses = await asyncio.gather(*guesses[:100], refresh(), *guesses[100:])
        assert responses[100].status_code == 200, responses[100].text
        attackers = responses[:100] + responses[101:]
        statuses = sorted(r.status_code for r in attackers)
        assert statuses == [401] * CLIENT_FAILURES + [429] * (200 - CLIENT_FAILURES), statuses
        refused = next(r for r in attackers if r.status_code == 429)
        assert refused.json()["error"] == "temporarily_unavailable"
        assert refused.headers["cache-control"] == "no-store"
        assert 1 <= int(refused.headers["retry-after"]) <= 900
        for _ in range(3):
            assert (await refresh()).status_code == 200
