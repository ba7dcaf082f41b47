"""The brute-force limits through a real uvicorn (one worker, counters in its memory), each
client IP played with X-Forwarded-For; on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.brute_force import (
    burst_client,
    sixty_wrong_logins_and_the_owner_elsewhere,
    two_hundred_wrong_secrets_and_the_client_elsewhere,
)
from tests.live_server import live_server


@pytest.fixture
def server(database_url: str, app, tmp_path: Path) -> Iterator[str]:
    """One worker with the limits on (requesting `app` empties the tables first)."""
    log_path = tmp_path / "uvicorn.log"
    env = {"RATE_LIMITS_ENABLED": "true", "REDIS_URL": ""}
    with live_server(database_url, env=env, log_path=log_path) as base_url:
        yield base_url
    assert "Traceback" not in log_path.read_text()


async def test_60_parallel_wrong_logins_through_one_worker(server: str):
    async with burst_client(server) as http:
        await sixty_wrong_logins_and_the_owner_elsewhere(http)


async def test_200_parallel_wrong_secrets_through_one_worker(server: str):
    async with burst_client(server) as http:
        await two_hundred_wrong_secrets_and_the_client_elsewhere(http)
