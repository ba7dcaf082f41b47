"""The brute-force limits through 4 uvicorn workers sharing Redis (issue 10): a burst spread
over every worker still checks at most the limit, because each attempt reserves its slot in
Redis (one atomic hit) before any secret is checked."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from redis import Redis

from tests.brute_force import (
    burst_client,
    sixty_wrong_logins_and_the_owner_elsewhere,
    two_hundred_wrong_secrets_and_the_client_elsewhere,
)
from tests.live_server import live_server
from tests.races.conftest import POOL_SIZE, WORKERS

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="module")
def shared_server(database_url: str) -> Iterator[str]:
    """`WORKERS` workers on PostgreSQL with the limits on, counting in Redis under a prefix
    of this run's own (its keys are deleted afterwards)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("multi-worker tests need PostgreSQL (DATABASE_URL=postgresql+asyncpg://...)")
    redis = Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        redis.ping()
    except Exception as exc:
        redis.close()
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__})")
    prefix = f"test-{secrets.token_hex(6)}"
    env = {
        "RATE_LIMITS_ENABLED": "true",
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": prefix,
        "DB_POOL_SIZE": str(POOL_SIZE),
    }
    try:
        with live_server(database_url, workers=WORKERS, env=env) as url:
            yield url
    finally:
        keys = list(redis.scan_iter(match=f"{prefix}*"))
        if keys:
            redis.delete(*keys)
        redis.close()


async def test_60_parallel_wrong_logins_through_4_workers(shared_server: str):
    async with burst_client(shared_server) as http:
        await sixty_wrong_logins_and_the_owner_elsewhere(http)


async def test_200_parallel_wrong_secrets_through_4_workers(shared_server: str):
    async with burst_client(shared_server) as http:
        await two_hundred_wrong_secrets_and_the_client_elsewhere(http)
