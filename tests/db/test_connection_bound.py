"""A worker on PostgreSQL holds at most DB_POOL_SIZE connections, whatever it serves: a live
uvicorn (one worker, a pool of 3) under many parallel requests to hot and cold endpoints at
once, its backends counted in `pg_stat_activity` all along."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db.pg_pool import APPLICATION_NAME
from tests.databases import fresh_database
from tests.helpers import app_payload, bearer, create_app, issue_tokens, user_token
from tests.live_server import live_server

POOL_SIZE = 3
CLIENTS = 40  # concurrent HTTP clients
ROUNDS = 6  # requests of each kind per client


async def _count_backends(dsn: str, database: str, stop: asyncio.Event, seen: list[int]) -> None:
    """Sample the server's backends on `database` every few milliseconds until `stop`."""
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            seen.append(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = $1 AND application_name = $2",
                    database,
                    APPLICATION_NAME,
                )
            )
            await asyncio.sleep(0.005)
    finally:
        await conn.close()


async def test_a_worker_never_holds_more_than_the_pool_size(database_url: str) -> None:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("counts PostgreSQL backends (DATABASE_URL=postgresql+asyncpg://...)")
    # A database of its own, so that only the live server's connections are counted.
    with fresh_database(base, prefix="oauth2_bound") as url:
        database = make_url(url).database
        assert database is not None
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        env = {"DB_POOL_SIZE": str(POOL_SIZE)}
        with live_server(url, env=env) as server:
            limits = httpx.Limits(max_connections=CLIENTS + 5)
            async with httpx.AsyncClient(base_url=server, timeout=60, limits=limits) as http:
                user = await user_token(http, "alice")
                oauth_app = await create_app(http, user)
                access = (await issue_tokens(http, user, oauth_app))["access_token"]
                statuses = await _load(http, user, oauth_app, access, dsn, database)

    peak, answers = statuses
    assert set(answers) <= {200, 201}, answers
    assert peak == POOL_SIZE, f"{peak} connections for a pool of {POOL_SIZE}"


async def _load(
    http: httpx.AsyncClient,
    user: str,
    oauth_app: dict[str, Any],
    access: str,
    dsn: str,
    database: str,
) -> tuple[int, dict[int, int]]:
    """Hot endpoints (exact dispatch: the profile, the apps list, introspection, /health) and
    cold ones (FastAPI's routing: one app by id, a new app, the profile edit), all at once."""
    kinds: list[Callable[[], Awaitable[httpx.Response]]] = [
        lambda: http.get("/api/auth/profile", headers=bearer(access)),
        lambda: http.get("/api/oauth/apps", headers=bearer(user)),
        lambda: http.post(
            "/api/oauth/introspect",
            data={
                "token": access,
                "client_id": oauth_app["client_id"],
                "client_secret": oauth_app["client_secret"],
            },
        ),
        lambda: http.get("/health"),
        lambda: http.get(f"/api/oauth/apps/{oauth_app['id']}/by_id", headers=bearer(user)),
        lambda: http.post("/api/oauth/apps", json=app_payload(), headers=bearer(user)),
        lambda: http.post("/api/auth/profile/edit", json={"bio": "busy"}, headers=bearer(user)),
    ]
    answers: dict[int, int] = {}

    async def client() -> None:
        for _ in range(ROUNDS):
            for send in kinds:
                status = (await send()).status_code
                answers[status] = answers.get(status, 0) + 1

    stop, seen = asyncio.Event(), []
    sampler = asyncio.create_task(_count_backends(dsn, database, stop, seen))
    try:
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
    finally:
        stop.set()
        await sampler
    assert sum(answers.values()) == CLIENTS * ROUNDS * len(kinds)
    assert len(seen) > 10, "the sampler saw too little of the load"
    return max(seen), answers
