"""PostgreSQL stopped under load: fast 503 JSON, then recovery without a restart."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.faults.conftest import pg_ctl_async, pg_ready
from tests.helpers import bearer, user_token
from tests.live_server import live_server

pytestmark = pytest.mark.faults

POOL_TIMEOUT = 2.0
# A request may wait for the pool, then for one connection attempt; nothing should hang longer.
WORST_CASE = 2 * POOL_TIMEOUT + 2


async def _load(http: httpx.AsyncClient, token: str, stop: asyncio.Event, seen: list) -> None:
    """Keep asking for the profile, recording (status, seconds, content type)."""
    while not stop.is_set():
        started = time.monotonic()
        response = await http.get("/api/auth/profile", headers=bearer(token))
        seen.append(
            (response.status_code, time.monotonic() - started, response.headers["content-type"])
        )


async def _wait_healthy(http: httpx.AsyncClient, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if (await http.get("/health")).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    return False


async def test_outage_answers_503_fast_and_recovers(fault_database_url):
    env = {"DB_POOL_TIMEOUT": str(POOL_TIMEOUT)}
    with live_server(fault_database_url, env=env) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            token = await user_token(http, "faulty")
            stop, seen = asyncio.Event(), []
            workers = [asyncio.create_task(_load(http, token, stop, seen)) for _ in range(8)]
            await asyncio.sleep(0.5)
            await pg_ctl_async("stop")
            try:
                await asyncio.sleep(3)
                health = await http.get("/health")
                outage = await http.get("/api/auth/profile", headers=bearer(token))
            finally:
                await pg_ctl_async("start")
            assert pg_ready()
            assert await _wait_healthy(http, 30), "the service did not recover by itself"
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*workers)
            after = await http.get("/api/auth/profile", headers=bearer(token))

    assert health.status_code == 503
    assert health.headers["content-type"].startswith("application/json")
    assert outage.status_code == 503
    assert outage.json() == {
        "status": "error",
        "message": "database unavailable, try again later",
    }
    statuses = {status for status, _, _ in seen}
    assert statuses <= {200, 503}, statuses
    assert 503 in statuses and 200 in statuses
    assert all(ctype.startswith("application/json") for _, _, ctype in seen)
    slowest = max(seconds for _, seconds, _ in seen)
    assert slowest < WORST_CASE, f"a request hung for {slowest:.1f} s"
    assert after.status_code == 200
