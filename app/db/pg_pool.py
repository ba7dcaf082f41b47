"""The hot lane's connections: a small first-come-first-served pool of asyncpg connections.

Why not `asyncpg.create_pool`: on the hot paths its checkout and release (a chain of
coroutines, a reset per release, `asyncio.wait_for` for the timeout, a task of its own on
Python 3.11) cost about 45 µs a request on a 2-core machine, against 2 µs here; and its wait
queue lets a newcomer overtake a woken waiter, sending it to the back again, which under load
doubled the p99 latency. This pool does only what the lane needs:

- at most `size` connections, opened on demand (none at start-up: a database that is down
  then costs a 503 per request, not the process), kept idle newest first;
- waiting at a FIFO semaphore (`asyncio.Semaphore` hands a released slot to the first
  waiter), with the pool timeout applied only when there is a wait;
- a connection that is closed, inside a transaction, or came back with an error or a
  cancellation is dropped, never reused (the lane sets no session state, so a healthy one
  needs no reset).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson


class ConnectionPool:
    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        size: int,
        timeout: float,
    ) -> None:
        self._connect = connect
        self._timeout = timeout
        self._idle: list[asyncpg.Connection] = []
        self._gate = asyncio.Semaphore(size)
        self.in_use = 0

    async def acquire(self) -> asyncpg.Connection:
        """A live connection within the pool timeout; `TimeoutError` past it, the driver's
        error when the database cannot be reached."""
        if self._gate.locked():
            async with asyncio.timeout(self._timeout):
                await self._gate.acquire()
        else:
            await self._gate.acquire()  # a free slot: returns without waiting
        try:
            conn = await self._idle_or_new()
        except BaseException:
            self._gate.release()
            raise
        self.in_use += 1
        return conn

    async def _idle_or_new(self) -> asyncpg.Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
        async with asyncio.timeout(self._timeout):
            return await self._connect()

    def release(self, conn: asyncpg.Connection, *, healthy: bool = True) -> None:
        """Back to the pool, or dropped when it may not be fit for the next request."""
        self.in_use -= 1
        try:
            if healthy and not conn.is_closed() and not conn.is_in_transaction():
                self._idle.append(conn)
            elif not conn.is_closed():
                conn.terminate()
        finally:
            self._gate.release()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close_quietly(conn)


async def _close_quietly(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 1)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()


def connector(args: Any, kwargs: dict[str, Any], timeout: float) -> Callable[[], Awaitable[Any]]:
    """How the pool opens a connection: SQLAlchemy's connect arguments for the URL, the
    connect timeout, the statement timeout and the application name of the engine's
    connections, and JSON decoded as SQLAlchemy's asyncpg dialect decodes it."""

    async def connect() -> asyncpg.Connection:
        conn = await asyncpg.connect(
            *args,
            **kwargs,
            timeout=timeout,
            command_timeout=30,
            server_settings={"application_name": "fittrackee-oauth2"},
        )
        try:
            await conn.set_type_codec(
                "json", schema="pg_catalog", encoder=_json_in, decoder=_json_out
            )
        except BaseException:
            conn.terminate()
            raise
        return conn

    return connect


def _json_in(value: Any) -> str:
    # SQLAlchemy's bind processor has already encoded the value.
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _json_out(text: str) -> Any:
    return orjson.loads(text)
