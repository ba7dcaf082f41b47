"""The asyncpg lane's connections: a small first-come-first-served pool of asyncpg connections,
the only pool of a server process on PostgreSQL.

Why not `asyncpg.create_pool`: on the hot paths its checkout and release (a chain of
coroutines, a reset per release, `asyncio.wait_for` for the timeout, a task of its own on
Python 3.11) cost about 45 µs a request on a 2-core machine, against 2 µs here; and its wait
queue lets a newcomer overtake a woken waiter, sending it to the back again, which under load
doubled the p99 latency. This pool does only what the lane needs:

- at most `size` connections, opened on demand (none at start-up: a database that is down
  then costs a 503 per request, not the process), kept idle newest first;
- waiting at a FIFO semaphore (`asyncio.Semaphore` hands a released slot to the first
  waiter); one `timeout` bounds the whole checkout, the wait for a slot and the opening of a
  connection together, and is applied only when there is something to wait for;
- a connection that is closed, inside a transaction, or came back with an error or a
  cancellation is dropped, never reused (the lane sets no session state, so a healthy one
  needs no reset);
- a connection older than `max_lifetime` seconds is closed instead of being reused, so that
  a server-side change (a failover behind a DNS name, a setting, a memory leak in a backend)
  reaches every connection in time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

APPLICATION_NAME = "fittrackee-oauth2"


class ConnectionPool:
    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        size: int,
        timeout: float,
        max_lifetime: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._timeout = timeout
        self._max_lifetime = max_lifetime
        self._clock = clock
        self._idle: list[asyncpg.Connection] = []
        self._opened_at: dict[asyncpg.Connection, float] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._gate = asyncio.Semaphore(size)
        self.in_use = 0

    async def acquire(self) -> asyncpg.Connection:
        """A live connection within the pool timeout; `TimeoutError` past it, the driver's
        error when the database cannot be reached."""
        started: float | None = None
        if self._gate.locked():
            started = self._clock()
            async with asyncio.timeout(self._timeout):
                await self._gate.acquire()
        else:
            await self._gate.acquire()  # a free slot: returns without waiting
        try:
            conn = self._reusable()
            if conn is None:
                waited = 0.0 if started is None else self._clock() - started
                async with asyncio.timeout(max(self._timeout - waited, 0.0)):
                    conn = await self._connect()
                self._opened_at[conn] = self._clock()
        except BaseException:
            self._gate.release()
            raise
        self.in_use += 1
        return conn

    def _reusable(self) -> asyncpg.Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.is_closed():
                self._opened_at.pop(conn, None)
            elif self._expired(conn):
                self._close_soon(conn)
            else:
                return conn
        return None

    def _expired(self, conn: asyncpg.Connection) -> bool:
        if self._max_lifetime is None:
            return False
        return self._clock() - self._opened_at.get(conn, 0.0) >= self._max_lifetime

    def release(self, conn: asyncpg.Connection, *, healthy: bool = True) -> None:
        """Back to the pool, or dropped when it may not be fit for the next request."""
        self.in_use -= 1
        try:
            if not healthy or conn.is_closed() or conn.is_in_transaction():
                self._opened_at.pop(conn, None)
                if not conn.is_closed():
                    conn.terminate()
            elif self._expired(conn):
                self._close_soon(conn)
            else:
                self._idle.append(conn)
        finally:
            self._gate.release()

    def _close_soon(self, conn: asyncpg.Connection) -> None:
        """Close a healthy connection politely (a Terminate message, not a cut socket),
        without making the request that let it go wait for that."""
        self._opened_at.pop(conn, None)
        task = asyncio.get_running_loop().create_task(_close_quietly(conn))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close_quietly(conn)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        self._opened_at.clear()


async def _close_quietly(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), 1)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()


def connector(
    args: Any,
    kwargs: dict[str, Any],
    *,
    connect_timeout: float,
    statement_timeout: float,
) -> Callable[[], Awaitable[asyncpg.Connection]]:
    """How the pool opens a connection: SQLAlchemy's connect arguments for the URL (host,
    port, user, database, SSL...), the connect timeout, the statement timeout, and the
    application name that `pg_stat_activity` shows. Types keep asyncpg's own codecs (JSON
    as text, decoded by its column type, `app.db.types.JSONDocument`), so a new connection
    costs no type introspection."""

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(
            *args,
            **kwargs,
            timeout=connect_timeout,
            command_timeout=statement_timeout,
            server_settings={"application_name": APPLICATION_NAME},
        )

    return connect
