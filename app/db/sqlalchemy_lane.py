"""The SQLAlchemy lane: queries run on an `AsyncConnection` of an `AsyncEngine`.

SQLite always takes this lane (SQLAlchemy's async engine and its pool); PostgreSQL takes it in
the command line and the tools, on an engine without a pool of its own (`NullPool`), so that
a server process holds one pool only, the asyncpg lane's. SQLAlchemy does the compiling (its
compiled cache is keyed by the same module-level statements), the result processing and the
transactions; this lane reads the results as each `Query` says and translates the errors into
`app.db.errors`' family.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.errors import from_sqlalchemy
from app.db.queries import EMPTY, Params, Query

T = TypeVar("T")
Observer = Callable[[str], None]


class ConnectionLane:
    """The queries of one block, on one `AsyncConnection`."""

    __slots__ = ("_conn", "_observers")

    def __init__(self, conn: AsyncConnection, observers: list[Observer]) -> None:
        self._conn = conn
        self._observers = observers

    async def rows(self, query: Query[T], params: Params = EMPTY) -> list[T]:
        result = await self._execute(query, params)
        return [query.read(row) for row in result]

    async def first(self, query: Query[T], params: Params = EMPTY) -> T | None:
        row = (await self._execute(query, params)).first()
        return None if row is None else query.read(row)

    async def scalar(self, query: Query[Any], params: Params = EMPTY) -> Any:
        return (await self._execute(query, params)).scalar()

    async def rowcount(self, query: Query[Any], params: Params = EMPTY) -> int:
        result = await self._execute(query, params)
        if query.returns_rows:
            return len(result.all())
        return result.rowcount

    async def _execute(self, query: Query[Any], params: Params) -> CursorResult[Any]:
        for observe in self._observers:
            observe(query.sql(self._conn.dialect))
        try:
            return await self._conn.execute(query.statement, dict(params))  # type: ignore[arg-type]
        except (sa_exc.SQLAlchemyError, OSError) as exc:
            mapped = from_sqlalchemy(exc)
            if mapped is None:
                raise
            raise mapped from exc


class SQLAlchemyLane:
    """Every call of `rows`/`first`/`scalar`/`rowcount` on a connection of its own, each
    statement committed on its own (AUTOCOMMIT); `transaction()` is `engine.begin()`."""

    def __init__(self, engine: AsyncEngine, observers: list[Observer]) -> None:
        self._engine = engine
        self._observers = observers
        self.in_use = 0

    async def rows(self, query: Query[T], params: Params = EMPTY) -> list[T]:
        async with self.connection() as conn:
            return await conn.rows(query, params)

    async def first(self, query: Query[T], params: Params = EMPTY) -> T | None:
        async with self.connection() as conn:
            return await conn.first(query, params)

    async def scalar(self, query: Query[Any], params: Params = EMPTY) -> Any:
        async with self.connection() as conn:
            return await conn.scalar(query, params)

    async def rowcount(self, query: Query[Any], params: Params = EMPTY) -> int:
        async with self.connection() as conn:
            return await conn.rowcount(query, params)

    def connection(self) -> AbstractAsyncContextManager[ConnectionLane]:
        return self._held(transaction=False)

    def transaction(self) -> AbstractAsyncContextManager[ConnectionLane]:
        return self._held(transaction=True)

    @asynccontextmanager
    async def _held(self, *, transaction: bool) -> AsyncIterator[ConnectionLane]:
        self.in_use += 1
        try:
            if transaction:
                async with self._engine.begin() as conn:
                    yield ConnectionLane(conn, self._observers)
            else:
                async with self._engine.connect() as conn:
                    autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    yield ConnectionLane(autocommit, self._observers)
        except (sa_exc.SQLAlchemyError, OSError) as exc:  # connecting, BEGIN or COMMIT failed
            mapped = from_sqlalchemy(exc)
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            self.in_use -= 1

    async def close(self) -> None:
        """The engine is the `Database`'s, which disposes of it."""
