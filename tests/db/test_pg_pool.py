"""The asyncpg lane's pool (`app.db.pg_pool`): first come first served, one bounded wait per
checkout, only healthy connections reused, none past its lifetime. The rules are checked with
stand-in connections (the pool only asks them whether they are closed or inside a
transaction); the last test uses real ones on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.pg_pool import ConnectionPool, connector


class StandIn:
    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False
        self.in_transaction = False

    def is_closed(self) -> bool:
        return self.closed

    def is_in_transaction(self) -> bool:
        return self.in_transaction

    def terminate(self) -> None:
        self.closed = True

    async def close(self) -> None:
        self.closed = True


def _pool(size: int, timeout: float = 1.0, **options: Any) -> tuple[ConnectionPool, list[StandIn]]:
    opened: list[StandIn] = []

    async def connect() -> StandIn:
        opened.append(StandIn(len(opened) + 1))
        return opened[-1]

    return ConnectionPool(connect, size, timeout, **options), opened  # type: ignore[arg-type]


async def test_waiters_are_served_in_arrival_order_even_against_newcomers() -> None:
    pool, _ = _pool(1)
    held = await pool.acquire()
    served: list[str] = []

    async def use(name: str) -> None:
        conn = await pool.acquire()
        served.append(name)
        await asyncio.sleep(0)
        pool.release(conn)

    first = asyncio.create_task(use("waiting first"))
    second = asyncio.create_task(use("waiting second"))
    await asyncio.sleep(0)  # both are waiting now
    newcomer = asyncio.create_task(use("newcomer"))  # its first step is queued ...
    pool.release(held)  # ... before the wake-up of the first waiter
    await asyncio.gather(first, second, newcomer)
    assert served == ["waiting first", "waiting second", "newcomer"]


async def test_a_full_pool_times_out_and_frees_nothing_it_did_not_take() -> None:
    pool, opened = _pool(1, timeout=0.05)
    held = await pool.acquire()
    with pytest.raises(TimeoutError):
        await pool.acquire()
    pool.release(held)
    assert (await pool.acquire()) is held  # the slot came back; no second connection
    assert len(opened) == 1


async def test_unhealthy_connections_are_dropped_and_replaced() -> None:
    pool, opened = _pool(2)
    conn = await pool.acquire()
    pool.release(conn, healthy=False)
    assert conn.closed
    conn = await pool.acquire()
    conn.in_transaction = True
    pool.release(conn)
    assert conn.closed
    idle_then_closed = await pool.acquire()
    pool.release(idle_then_closed)
    idle_then_closed.closed = True  # the server went away while it was idle
    fresh = await pool.acquire()
    assert fresh is not idle_then_closed
    assert [c.number for c in opened] == [1, 2, 3, 4]
    assert pool.in_use == 1


async def test_a_failed_connect_gives_its_slot_back() -> None:
    async def refuse() -> StandIn:
        raise ConnectionRefusedError

    pool = ConnectionPool(refuse, 1, 0.05)  # type: ignore[arg-type]
    for _ in range(2):  # the second would time out if the first had kept the slot
        with pytest.raises(ConnectionRefusedError):
            await pool.acquire()
    assert pool.in_use == 0


async def test_one_timeout_bounds_the_wait_and_the_connect_together() -> None:
    """A checkout that waited for a slot has only what is left of the pool timeout to open a
    connection: the whole checkout never takes much more than DB_POOL_TIMEOUT."""
    opened: list[StandIn] = []

    async def first_then_hang() -> StandIn:
        if not opened:
            opened.append(StandIn(1))
            return opened[0]
        await asyncio.sleep(60)  # a database that accepts the socket and never answers
        raise AssertionError("not reached")

    pool = ConnectionPool(first_then_hang, 1, 0.3)  # type: ignore[arg-type]
    held = await pool.acquire()
    started = time.monotonic()
    waiting = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.2)  # most of the timeout spent waiting for the slot ...
    pool.release(held, healthy=False)  # ... then the slot frees, and the connect hangs
    with pytest.raises(TimeoutError):
        await waiting
    assert time.monotonic() - started < 0.45
    assert pool.in_use == 0


async def test_a_connection_past_its_lifetime_is_closed_not_reused() -> None:
    now = [0.0]
    pool, opened = _pool(2, max_lifetime=10, clock=lambda: now[0])
    conn = await pool.acquire()
    pool.release(conn)
    now[0] = 9.0
    assert await pool.acquire() is conn  # still young: reused
    now[0] = 10.0
    pool.release(conn)  # old now: closed on its way back
    await _settle()  # the polite close runs beside the request
    assert conn.closed
    fresh = await pool.acquire()
    assert fresh is not conn
    pool.release(fresh)
    now[0] = 25.0  # grew old while idle: closed when next taken
    newer = await pool.acquire()
    assert newer is not fresh
    await _settle()
    assert fresh.closed
    assert [c.number for c in opened] == [1, 2, 3]
    pool.release(newer)
    await pool.close()


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_real_connections_are_named_limited_and_reused(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("the asyncpg lane's pool is PostgreSQL's")
    engine = create_async_engine(url)
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    await engine.dispose()
    connect = connector(args, kwargs, connect_timeout=5, statement_timeout=0.5)
    pool = ConnectionPool(connect, 2, 5)
    try:
        conn = await pool.acquire()
        assert await conn.fetchval("SELECT current_setting('application_name')") == (
            "fittrackee-oauth2"
        )
        # asyncpg's own codec: JSON stays text, which its column type decodes.
        assert await conn.fetchval("""SELECT '["a", 1]'::json""") == '["a", 1]'
        pool.release(conn)
        assert (await pool.acquire()) is conn
        with pytest.raises(TimeoutError):  # the statement timeout
            await conn.execute("SELECT pg_sleep(5)")
        pool.release(conn, healthy=False)
        assert conn.is_closed()
    finally:
        await pool.close()
