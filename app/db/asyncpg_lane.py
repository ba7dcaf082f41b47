"""The asyncpg lane: every statement of a server process on PostgreSQL, on raw asyncpg
connections from one FIFO pool (`app.db.pg_pool`), the process's only pool.

SQLAlchemy's per-statement work (checkout through greenlets, execution context, result
wrapping) costs several times the database round trip a hot request is made of. SQLAlchemy
still builds every statement (the repositories' `Query` objects); this lane compiles each
once for the asyncpg dialect, through public API only (`compile()`, `.string`,
`.positiontup`, `.binds`, the column types' `bind_processor` / `result_processor` and the
statement's `exported_columns`), and then runs the SQL text with `$n` arguments itself. All
registered queries are compiled when the lane is made, so a broken one stops the start-up.

Each call of `rows`/`first`/`scalar`/`rowcount` checks a connection out for that one
statement (autocommit: PostgreSQL commits it on its own); `connection()` and `transaction()`
hold one for a block. A connection that saw a database error or a cancellation is dropped.
What the driver raises becomes `app.db.errors`' family.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import URL, Dialect

from app.db.errors import ConstraintViolation, DatabaseUnavailable, from_asyncpg
from app.db.pg_pool import ConnectionPool, connector
from app.db.queries import EMPTY, Params, Query, registered

T = TypeVar("T")
Observer = Callable[[str], None]

# What asyncpg (or the socket under it) raises; `_translated` says which are the database's
# doing (ours to name) and which are bugs (left as they are).
_DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
)
_TRANSLATED = (DatabaseUnavailable, ConstraintViolation)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A query as the lane runs it: SQL text, how to make its `$n` arguments from the
    repository's parameters, and how to read its rows."""

    sql: str
    # per `$n`: the parameter's name, its bind processor, whether it must be given, and
    # the value when it is not (a literal the statement carries, e.g. a LIMIT)
    binds: tuple[tuple[str, Callable[[Any], Any] | None, bool, Any], ...]
    # (column index, result processor) for the columns whose type has one
    results: tuple[tuple[int, Callable[[Any], Any]], ...]
    query: Query[Any]

    def arguments(self, params: Params) -> list[Any]:
        args = []
        for name, process, required, default in self.binds:
            value = params[name] if required or name in params else default
            args.append(value if process is None else process(value))
        return args

    def value(self, record: Sequence[Any]) -> Any:
        """The first column's value, processed."""
        if self.results and self.results[0][0] == 0:
            return self.results[0][1](record[0])
        return record[0]

    def read(self, record: Sequence[Any]) -> Any:
        if not self.results:
            return self.query.read(record)
        values = list(record)
        for index, process in self.results:
            values[index] = process(values[index])
        return self.query.read(values)


def compile_query(query: Query[Any], dialect: Dialect) -> Compiled:
    """`query` compiled for `dialect`, with the processors of its parameters and columns."""
    compiled = query.statement.compile(dialect=dialect)
    binds = []
    for name in compiled.positiontup or ():  # type: ignore[attr-defined]
        bind = compiled.binds[name]  # type: ignore[attr-defined]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, process, bool(bind.required), bind.value))
    results = []
    exported = getattr(query.statement, "exported_columns", ())
    for index, column in enumerate(exported):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((index, process))
    return Compiled(compiled.string, tuple(binds), tuple(results), query)


class AsyncpgLane:
    """The pool, the compiled queries and the statement hooks of one process."""

    def __init__(
        self,
        url: URL,
        dialect: Dialect,
        *,
        size: int,
        timeout: float,
        statement_timeout: float,
        max_lifetime: float,
        observers: list[Observer],
    ) -> None:
        self.dialect = dialect
        args, kwargs = dialect.create_connect_args(url)
        connect = connector(
            args, kwargs, connect_timeout=timeout, statement_timeout=statement_timeout
        )
        self._pool = ConnectionPool(connect, size, timeout, max_lifetime)
        self._observers = observers
        self._compiled: dict[Query[Any], Compiled] = {
            query: compile_query(query, dialect)
            for query in registered()
            if dialect.name in query.dialects
        }

    def compiled(self, query: Query[Any]) -> Compiled:
        found = self._compiled.get(query)
        if found is None:  # a query of a module imported after the lane was made
            found = self._compiled[query] = compile_query(query, self.dialect)
        return found

    @property
    def in_use(self) -> int:
        return self._pool.in_use

    async def rows(self, query: Query[T], params: Params = EMPTY) -> list[T]:
        compiled = self.compiled(query)
        records = await self._once(compiled, params, _FETCH)
        return [compiled.read(record) for record in records]

    async def first(self, query: Query[T], params: Params = EMPTY) -> T | None:
        compiled = self.compiled(query)
        record = await self._once(compiled, params, _FETCHROW)
        return None if record is None else compiled.read(record)

    async def scalar(self, query: Query[Any], params: Params = EMPTY) -> Any:
        compiled = self.compiled(query)
        record = await self._once(compiled, params, _FETCHROW)
        return None if record is None else compiled.value(record)

    async def rowcount(self, query: Query[Any], params: Params = EMPTY) -> int:
        return await self._once(self.compiled(query), params, _ROWCOUNT)

    async def _once(self, compiled: Compiled, params: Params, how: int) -> Any:
        """One statement on a connection checked out for it alone (autocommit)."""
        conn = await self._checkout()
        healthy = False
        try:
            result = await self.run(conn, compiled, params, how)
            healthy = True
        finally:
            self._pool.release(conn, healthy=healthy)
        return result

    def connection(self) -> AbstractAsyncContextManager[LaneConnection]:
        return self._held(transaction=False)

    def transaction(self) -> AbstractAsyncContextManager[LaneConnection]:
        """BEGIN ... COMMIT; ROLLBACK when the block raises. After a database error the
        connection is dropped without another word (the server rolls back)."""
        return self._held(transaction=True)

    @asynccontextmanager
    async def _held(self, *, transaction: bool) -> AsyncIterator[LaneConnection]:
        conn = await self._checkout()
        healthy = False
        try:
            if transaction:
                await self._command(conn, "BEGIN")
            try:
                yield LaneConnection(self, conn)
            except (*_DRIVER_ERRORS, *_TRANSLATED):
                raise  # the connection is dropped, unspoken to: the server rolls back
            except Exception:
                if transaction:  # the caller's own refusal (an OAuth error, say)
                    await self._command(conn, "ROLLBACK")
                healthy = True
                raise
            if transaction:
                await self._command(conn, "COMMIT")
            healthy = True
        finally:
            self._pool.release(conn, healthy=healthy)

    async def _command(self, conn: asyncpg.Connection, sql: str) -> None:
        """BEGIN, COMMIT or ROLLBACK, under the statement timeout like any statement."""
        try:
            await conn.execute(sql)
        except _DRIVER_ERRORS as exc:
            mapped = _translated(exc, conn)
            if mapped is exc:
                raise
            raise mapped from exc

    async def _checkout(self) -> asyncpg.Connection:
        try:
            return await self._pool.acquire()
        except _DRIVER_ERRORS as exc:  # no slot in time, or no connection to be had
            mapped = _translated(exc, None)
            if mapped is exc:
                raise
            raise mapped from exc

    async def run(
        self, conn: asyncpg.Connection, compiled: Compiled, params: Params, how: int
    ) -> Any:
        """One statement on `conn`, read `how` (all rows, the first, or the count); what
        the driver raises is translated."""
        args = compiled.arguments(params)
        for observe in self._observers:
            observe(compiled.sql)
        try:
            if how == _FETCHROW:
                return await conn.fetchrow(compiled.sql, *args)
            if how == _FETCH:
                return await conn.fetch(compiled.sql, *args)
            if compiled.query.returns_rows:
                return len(await conn.fetch(compiled.sql, *args))
            return _rowcount(await conn.execute(compiled.sql, *args))
        except _DRIVER_ERRORS as exc:
            mapped = _translated(exc, conn)
            if mapped is exc:
                raise
            raise mapped from exc

    async def close(self) -> None:
        await self._pool.close()


_FETCH, _FETCHROW, _ROWCOUNT = range(3)


class LaneConnection:
    """One checked-out connection, for the statements of one block."""

    __slots__ = ("_conn", "_lane")

    def __init__(self, lane: AsyncpgLane, conn: asyncpg.Connection) -> None:
        self._lane = lane
        self._conn = conn

    async def rows(self, query: Query[T], params: Params = EMPTY) -> list[T]:
        compiled = self._lane.compiled(query)
        records = await self._lane.run(self._conn, compiled, params, _FETCH)
        return [compiled.read(record) for record in records]

    async def first(self, query: Query[T], params: Params = EMPTY) -> T | None:
        compiled = self._lane.compiled(query)
        record = await self._lane.run(self._conn, compiled, params, _FETCHROW)
        return None if record is None else compiled.read(record)

    async def scalar(self, query: Query[Any], params: Params = EMPTY) -> Any:
        compiled = self._lane.compiled(query)
        record = await self._lane.run(self._conn, compiled, params, _FETCHROW)
        return None if record is None else compiled.value(record)

    async def rowcount(self, query: Query[Any], params: Params = EMPTY) -> int:
        compiled = self._lane.compiled(query)
        return await self._lane.run(self._conn, compiled, params, _ROWCOUNT)


def _rowcount(status: str) -> int:
    """asyncpg's command tag (`UPDATE 3`, `INSERT 0 1`): the count is its last word."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


def _translated(exc: BaseException, conn: asyncpg.Connection | None) -> BaseException:
    """Ours for the database's failures; `exc` itself for a bug."""
    closed = conn is not None and conn.is_closed()
    return from_asyncpg(exc, connection_closed=closed) or exc
