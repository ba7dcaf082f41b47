"""PostgreSQL frozen (every process of the fault cluster SIGSTOPped), not stopped: nothing is
refused, nothing answers. Each request must still end in time: its connection checkout is
bounded by DB_POOL_TIMEOUT (waiting for a slot and opening a connection together), its
statement by DB_STATEMENT_TIMEOUT (default: DB_POOL_TIMEOUT), where asyncpg alone would have
waited 30 s. So a request answers 503 JSON within the two timeouts (plus slack for a shared
machine), and the service is back once the database goes on, without a restart."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx
import pytest

from tests.faults.conftest import frozen_database, pg_ready, unavailable_body, wait_healthy
from tests.helpers import bearer, create_app, issue_tokens, refresh_tokens, user_token
from tests.live_server import live_server

pytestmark = pytest.mark.faults

POOL_TIMEOUT = 2.0
SLACK = 2.0
BOUND = 2 * POOL_TIMEOUT + SLACK  # checkout + statement (DB_STATEMENT_TIMEOUT defaults to it)
LOAD = 8  # concurrent clients, against a pool of 2
FROZEN_FOR = BOUND + 2  # longer than any request may take, so a hung one shows


async def _load(
    http: httpx.AsyncClient, token: str, stop: asyncio.Event, seen: list[tuple[int, float, str]]
) -> None:
    while not stop.is_set():
        started = time.monotonic()
        response = await http.get("/api/auth/profile", headers=bearer(token))
        seen.append(
            (response.status_code, time.monotonic() - started, response.headers["content-type"])
        )


async def test_a_frozen_database_is_503_within_the_timeouts_then_recovers(fault_database_url):
    env = {"DB_POOL_SIZE": "2", "DB_POOL_TIMEOUT": str(POOL_TIMEOUT)}
    with live_server(fault_database_url, env=env) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            token = await user_token(http, f"frozen{secrets.token_hex(3)}")
            oauth_app = await create_app(http, token)
            pair = await issue_tokens(http, token, oauth_app)
            stop, seen = asyncio.Event(), []
            workers = [asyncio.create_task(_load(http, token, stop, seen)) for _ in range(LOAD)]
            await asyncio.sleep(0.5)
            async with frozen_database():
                frozen_at = time.monotonic()
                started = time.monotonic()
                health = await http.get("/health")
                health_seconds = time.monotonic() - started
                started = time.monotonic()
                refresh = await refresh_tokens(http, oauth_app, pair["refresh_token"])
                refresh_seconds = time.monotonic() - started
                await asyncio.sleep(max(0.0, FROZEN_FOR - (time.monotonic() - frozen_at)))
                during = len(seen)
            assert pg_ready()
            assert await wait_healthy(base_url), "the service did not recover by itself"
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*workers)
            after = await http.get("/api/auth/profile", headers=bearer(token))
            refreshed = await refresh_tokens(http, oauth_app, pair["refresh_token"])

    for response, seconds in ((health, health_seconds), (refresh, refresh_seconds)):
        assert response.status_code == 503, response.text
        assert response.json() == unavailable_body(response.request.url.path)
        assert response.headers["retry-after"] == "5"
        assert seconds < BOUND, f"{response.request.url.path} took {seconds:.1f} s"
    statuses = {status for status, _, _ in seen}
    assert statuses <= {200, 503}, statuses
    assert 503 in {status for status, _, _ in seen[:during]}, "the freeze was not seen"
    assert all(ctype.startswith("application/json") for _, _, ctype in seen)
    slowest = max(seconds for _, seconds, _ in seen)
    assert slowest < BOUND, f"a request hung for {slowest:.1f} s (allowed {BOUND:.0f} s)"
    assert after.status_code == 200, after.text
    # The refresh cut by the freeze did not happen (or happened whole): the token works once.
    assert refreshed.status_code == 200, refreshed.text
    print(f"\nslowest of {len(seen)} answers: {slowest:.2f} s (allowed: {BOUND:.0f} s)")
