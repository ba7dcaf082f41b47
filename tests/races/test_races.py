"""Races through a real server: 4 uvicorn workers on one PostgreSQL database (issue 5).

Every race is decided by the database, never by one process: a code or a refresh token is
spent by a single `UPDATE ... RETURNING` that only one transaction can win, and replays revoke
what the winner got (RFC 6749 §4.1.2, RFC 9700 §4.14.2). The requests are all sent at once
over connections opened beforehand, so they really overlap in the workers; each test checks
the HTTP answers and then the rows left in the database.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.db.models import AuthorizationCode, OAuth2Client, Token
from app.oauth.secrets import hash_secret
from tests.databases import stored_rows as rows
from tests.helpers import (
    authorize,
    bearer,
    code_from,
    create_app,
    exchange_code,
    issue_tokens,
    pkce_pair,
    refresh_tokens,
    user_token,
)
from tests.live_server import live_server
from tests.races.conftest import WORKERS

RACERS = 50
INVALID_CODE = {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}
TOKEN_KEYS = {"access_token", "expires_in", "refresh_token", "scope", "token_type"}

Send = Callable[[], Awaitable[httpx.Response]]


@dataclass(frozen=True, slots=True)
class Timed:
    """One answer and when (client side, monotonic seconds) its request was in flight."""

    label: str
    response: httpx.Response
    started: float
    ended: float


@asynccontextmanager
async def http_client(base_url: str, connections: int = RACERS + 10) -> AsyncIterator[Any]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        yield http


async def race(
    http: httpx.AsyncClient,
    requests: list[tuple[str, Send]],
    spread: float = 0.0,
    delays: dict[str, float] | None = None,
) -> list[Timed]:
    """Send every request at once (after opening as many connections), each delayed by a
    random fraction of `spread` seconds, or by `delays[label]`; the answers in the order of
    `requests`."""
    warm = await asyncio.gather(*(http.get("/health") for _ in requests))
    assert all(r.status_code == 200 for r in warm)
    go = asyncio.Event()

    async def one(label: str, send: Send) -> Timed:
        await go.wait()
        delay = (delays or {}).get(label, random.uniform(0, spread))
        if delay:
            await asyncio.sleep(delay)
        started = time.monotonic()
        response = await send()
        return Timed(label, response, started, time.monotonic())

    tasks = [asyncio.create_task(one(label, send)) for label, send in requests]
    await asyncio.sleep(0)  # every task is now waiting at the barrier
    go.set()
    return list(await asyncio.gather(*tasks))


def peak_in_flight(timed: list[Timed]) -> int:
    """The most requests that were in flight at one moment."""
    edges = sorted([(t.started, 1) for t in timed] + [(t.ended, -1) for t in timed])
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def assert_json(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("application/json"), response.text


async def profile_status(http: httpx.AsyncClient, access_token: str) -> int:
    return (await http.get("/api/auth/profile", headers=bearer(access_token))).status_code


async def test_50_redemptions_of_one_code_give_exactly_one_token(app: FastAPI, server: str):
    """One code, 50 exchanges at once through 4 workers: one 200, 49 `invalid_grant`.

    The consistent end state follows from `AuthorizationCodeGrant.exchange`: the winner keeps
    the code's row locked until its token is committed, and every loser's UPDATE either
    waited for that lock or started after the commit, so each loser then finds the token and
    revokes it (a replay means the code leaked, RFC 6749 §4.1.2). Hence: exactly one token
    row for the code, revoked, and its access and refresh tokens refused.
    """
    async with http_client(server) as http:
        user = await user_token(http, "alice")
        oauth_app = await create_app(http, user)
        verifier, challenge = pkce_pair()
        code = code_from(
            await authorize(
                http, user, oauth_app, code_challenge=challenge, code_challenge_method="S256"
            )
        )

        def send() -> Awaitable[httpx.Response]:
            return exchange_code(http, oauth_app, code, code_verifier=verifier)

        timed = await race(http, [("exchange", send)] * RACERS)

        assert peak_in_flight(timed) >= 10, "the requests did not overlap"
        responses = [t.response for t in timed]
        won = [r for r in responses if r.status_code == 200]
        lost = [r for r in responses if r.status_code != 200]
        assert len(won) == 1, [r.text for r in responses]
        assert set(won[0].json()) == TOKEN_KEYS
        for response in lost:
            assert response.status_code == 400, response.text
            assert response.json() == INVALID_CODE
        for response in responses:
            assert_json(response)
            assert response.headers["cache-control"] == "no-store"

        [stored_code] = await rows(app, AuthorizationCode)
        assert stored_code["code_hash"] == hash_secret(code)
        assert stored_code["used_at"] is not None
        [token] = await rows(app, Token)
        assert token["family_id"] == stored_code["family_id"]
        assert token["access_token_hash"] == hash_secret(won[0].json()["access_token"])
        assert token["rotated_at"] is None
        assert token["revoked_at"] is not None, "a replay did not revoke the winner's token"

        winner = won[0].json()
        assert await profile_status(http, winner["access_token"]) == 401
        refreshed = await refresh_tokens(http, oauth_app, winner["refresh_token"])
        assert refreshed.status_code == 400
        assert refreshed.json() == {"error": "invalid_grant"}


async def test_50_refreshes_of_one_token_rotate_it_once(app: FastAPI, server: str):
    """One refresh token, 50 refreshes at once: one success, no second successor.

    `RefreshTokenGrant.refresh` spends the token with one UPDATE that a single transaction
    wins; the others wait for it, find the token rotated and revoke its family (RFC 9700
    §4.14.2). So the family holds exactly the original pair (rotated) and one successor, and
    nothing in it is live; another family of the same user and app is untouched.
    """
    async with http_client(server) as http:
        user = await user_token(http, "alice")
        oauth_app = await create_app(http, user)
        tokens = await issue_tokens(http, user, oauth_app)
        bystander = await issue_tokens(http, user, oauth_app)

        def send() -> Awaitable[httpx.Response]:
            return refresh_tokens(http, oauth_app, tokens["refresh_token"])

        timed = await race(http, [("refresh", send)] * RACERS)

        assert peak_in_flight(timed) >= 10, "the requests did not overlap"
        responses = [t.response for t in timed]
        won = [r for r in responses if r.status_code == 200]
        lost = [r for r in responses if r.status_code != 200]
        assert len(won) == 1, [r.text for r in responses]
        for response in lost:
            assert response.status_code == 400, response.text
            assert response.json() == {"error": "invalid_grant"}
        for response in responses:
            assert_json(response)

        [original] = await rows(
            app, Token, Token.refresh_token_hash == hash_secret(tokens["refresh_token"])
        )
        family = await rows(app, Token, Token.family_id == original["family_id"])
        assert len(family) == 2, "more than one rotation happened"
        [successor] = [row for row in family if row["id"] != original["id"]]
        assert successor["refresh_token_hash"] == hash_secret(won[0].json()["refresh_token"])
        assert original["rotated_at"] is not None
        assert successor["rotated_at"] is None
        assert successor["user_id"] == original["user_id"]
        # Reuse detection fired (49 presentations of a rotated token): nothing live remains.
        assert all(row["revoked_at"] is not None for row in family)

        for access_token in (tokens["access_token"], won[0].json()["access_token"]):
            assert await profile_status(http, access_token) == 401
        again = await refresh_tokens(http, oauth_app, won[0].json()["refresh_token"])
        assert again.status_code == 400
        assert await profile_status(http, bystander["access_token"]) == 200


DELETION_ROUNDS = 8
CODES_PER_ROUND = 12
PAIRS_PER_ROUND = 8
AUTHORIZATIONS_PER_ROUND = 6
SPREAD = 0.05  # seconds over which a round's requests are sent; the delete goes mid-way


def round_requests(
    http: httpx.AsyncClient,
    user: str,
    oauth_app: dict[str, Any],
    codes: list[tuple[str, str]],
    pairs: list[dict[str, Any]],
) -> list[tuple[str, Send]]:
    """Exchanges of `codes`, refreshes of `pairs` and new authorizations, all for `oauth_app`."""

    def exchange(code: str, verifier: str) -> Send:
        return lambda: exchange_code(http, oauth_app, code, code_verifier=verifier)

    def refresh(refresh_token: str) -> Send:
        return lambda: refresh_tokens(http, oauth_app, refresh_token)

    def approve() -> Awaitable[httpx.Response]:
        return authorize(http, user, oauth_app)

    return (
        [("exchange", exchange(code, verifier)) for code, verifier in codes]
        + [("refresh", refresh(pair["refresh_token"])) for pair in pairs]
        + [("authorize", approve)] * AUTHORIZATIONS_PER_ROUND
    )


async def test_deleting_an_app_while_its_tokens_are_exchanged_leaves_nothing(
    app: FastAPI, server: str
):
    """Exchanges, refreshes and authorizations of an app race its deletion, 8 rounds.

    Whatever the interleaving, each answer is a clean one (200, or a 400/401 OAuth2 or
    FitTrackee JSON refusal, never a 500), the delete succeeds, and afterwards no code or
    token row names the deleted client: a token committed before the delete goes with it
    (ON DELETE CASCADE in the delete's transaction), one attempted after finds no code, no
    refresh token or no client. Every access token handed out in the race is refused.
    """
    outcomes: dict[str, dict[int, int]] = {}
    async with http_client(server) as http:
        user = await user_token(http, "alice")
        for _ in range(DELETION_ROUNDS):
            oauth_app = await create_app(http, user)
            pk = oauth_app["id"]
            codes = []
            for _ in range(CODES_PER_ROUND):
                verifier, challenge = pkce_pair()
                response = await authorize(
                    http, user, oauth_app, code_challenge=challenge, code_challenge_method="S256"
                )
                codes.append((code_from(response), verifier))
            pairs = [await issue_tokens(http, user, oauth_app) for _ in range(PAIRS_PER_ROUND)]

            requests = round_requests(http, user, oauth_app, codes, pairs)

            async def delete(pk: int = pk) -> httpx.Response:
                return await http.delete(f"/api/oauth/apps/{pk}", headers=bearer(user))

            requests.append(("delete", delete))
            random.shuffle(requests)
            timed = await race(http, requests, spread=SPREAD, delays={"delete": SPREAD / 2})

            for t in timed:
                counts = outcomes.setdefault(t.label, {})
                counts[t.response.status_code] = counts.get(t.response.status_code, 0) + 1
            [deleted] = [t.response for t in timed if t.label == "delete"]
            assert deleted.status_code == 204, deleted.text
            for t in timed:
                if t.label == "delete":
                    continue
                response = t.response
                assert response.status_code in (200, 400, 401), (t.label, response.text)
                assert_json(response)
                if t.label != "authorize" and response.status_code == 400:
                    assert response.json()["error"] == "invalid_grant", response.text
                if response.status_code == 401:
                    assert response.json()["error"] == "invalid_client", response.text
                if t.label == "authorize" and response.status_code == 400:
                    assert response.json()["error"] == "invalid_request", response.text

            assert await rows(app, OAuth2Client, OAuth2Client.id == pk) == []
            assert await rows(app, AuthorizationCode, AuthorizationCode.client_id == pk) == []
            assert await rows(app, Token, Token.client_id == pk) == []
            for t in timed:
                if t.label in ("exchange", "refresh") and t.response.status_code == 200:
                    assert await profile_status(http, t.response.json()["access_token"]) == 401
    print(f"\ndeletion race outcomes over {DELETION_ROUNDS} rounds: {outcomes}")


async def test_a_logout_is_seen_by_every_worker(app: FastAPI, server: str):
    """Nothing about a user's session is process-local: once logged out, the JWT is refused
    whichever worker answers (fresh connections are spread over the workers by the kernel)."""
    async with http_client(server) as http:
        user = await user_token(http, "alice")
        logout = await http.post("/api/auth/logout", headers=bearer(user))
        assert logout.status_code == 200, logout.text
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server, timeout=30, limits=limits) as fresh:
        statuses = [
            (await fresh.get("/api/auth/profile", headers=bearer(user))).status_code
            for _ in range(4 * WORKERS)
        ]
    assert statuses == [401] * (4 * WORKERS)


CLIENT_FAILURE_LIMIT = 5
REDIS_URL = "redis://127.0.0.1:6379/15"


async def test_client_failure_limit_is_shared_by_every_worker(app: FastAPI, database_url: str):
    """With REDIS_URL the failed-client-authentication count (issue 6) is one count for all
    workers: exactly `limit` failures are answered 401, then 429 with Retry-After, whichever
    worker takes each request (one fresh connection per request)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("race tests need PostgreSQL (DATABASE_URL=postgresql+asyncpg://...)")
    redis = pytest.importorskip("redis.asyncio")
    probe = redis.Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except Exception as exc:
        pytest.skip(f"needs Redis at {REDIS_URL}: {exc}")
    finally:
        await probe.aclose()
    env = {
        "DB_POOL_SIZE": "2",
        "REDIS_URL": REDIS_URL,
        "RATE_LIMITS_ENABLED": "true",
        "RATE_LIMIT_CLIENT_FAILURES": str(CLIENT_FAILURE_LIMIT),
        "RATE_LIMIT_CLIENT_WINDOW": "60",
        # Redis outlives this run: earlier runs' registrations from 127.0.0.1 still count.
        "RATE_LIMIT_REGISTRATIONS_PER_IP": "1000000",
    }
    limits = httpx.Limits(max_keepalive_connections=0)
    with live_server(database_url, workers=WORKERS, env=env) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
            user = await user_token(http, "alice")
            oauth_app = await create_app(http, user)
            wrong = {**oauth_app, "client_secret": "not-the-secret"}
            answers = [await refresh_tokens(http, wrong, "whatever") for _ in range(3 * WORKERS)]
    statuses = [r.status_code for r in answers]
    assert statuses == [401] * CLIENT_FAILURE_LIMIT + [429] * (
        3 * WORKERS - CLIENT_FAILURE_LIMIT
    ), statuses
    assert all(r.headers.get("retry-after") for r in answers[CLIENT_FAILURE_LIMIT:])
