"""Race tests run against a real uvicorn with several worker processes on PostgreSQL, so the
database, not one process's event loop, decides every race. SQLite serializes writers and
one test process cannot stand for several workers: there the tests are skipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live_server import live_server

WORKERS = 4
# Each worker holds at most DB_POOL_SIZE connections (the asyncpg lane's pool, its only one):
# 4 x 5 = 20, well under PostgreSQL's max_connections, which other test runs share.
POOL_SIZE = 5


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    """Base URL of `WORKERS` uvicorn workers on this run's database (one server per module)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("race tests need PostgreSQL (DATABASE_URL=postgresql+asyncpg://...)")
    with live_server(database_url, workers=WORKERS, env={"DB_POOL_SIZE": str(POOL_SIZE)}) as url:
        yield url
