"""The hot lane on PostgreSQL: prebuilt Core statements run straight on asyncpg connections.

SQLAlchemy's per-statement work (connection checkout through greenlets, execution context,
result wrapping) costs several times the database round trip a hot request is made of.
Statements the hot paths use are built once at import (`prebuilt`); here each is compiled
once for the asyncpg dialect (SQL text with `$n` and the order of its parameters) and run on
raw asyncpg connections from the lane's own pool (`app.db.pg_pool`). SQLAlchemy still builds
the SQL, so the repositories stay the only place that does; only the execution takes the
shorter way.

`DirectConnection` offers the part of `AsyncConnection` the repositories use (`execute`,
`scalar`, `dialect`, and the result's `mappings()`, `scalar_one_or_none()`, `rowcount`),
so a repository method runs unchanged on either. Rows are asyncpg `Record`s, read by key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement

from app.db.pg_pool import ConnectionPool, connector

S = TypeVar("S", bound=ClauseElement)

_PREBUILT: set[int] = set()


def prebuilt(statement: S) -> S:
    """Mark a module-level statement as safe to compile once and cache (its identity is the
    cache key); the direct lane refuses any other, which a test would notice at once."""
    _PREBUILT.add(id(statement))
    return statement


class ConnectionLost(ConnectionError):
    """The database connection died under a statement (server stopped, network cut).

    asyncpg says so with `ConnectionDoesNotExistError`, or with an `InterfaceError`
    ("connection is closed"), a class it also uses for programming errors; this names the
    case, and as an `OSError` it is answered like any other unreachable database (503)."""


_DATABASE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    asyncio.TimeoutError,
)


class NotPrebuilt(TypeError):
    """A statement built per call reached the direct lane (a programming error)."""


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]
    returns_rows: bool

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        args = []
        for name in self.names:
            value = params[name] if name in params else self.defaults[name]
            processor = self.processors.get(name)
            args.append(processor(value) if processor is not None else value)
        return args


def _compile(statement: ClauseElement, keys: tuple[str, ...], dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    names = tuple(compiled.positiontup or ())
    return _Compiled(
        sql=compiled.string,
        names=names,
        defaults={name: compiled.binds[name].value for name in names},
        processors=dict(compiled._bind_processors),  # type: ignore[arg-type]
        returns_rows=bool(compiled._result_columns),
    )


class DirectResult:
    """What a repository reads of a result: rows by key, the first scalar, the row count."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: Sequence[asyncpg.Record], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def mappings(self) -> DirectResult:
        return self

    def __iter__(self) -> Iterator[asyncpg.Record]:
        return iter(self._rows)

    def first(self) -> asyncpg.Record | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise ValueError("more than one row")
        return self.scalar()


class DirectConnection:
    """One pooled asyncpg connection, spoken to like an `AsyncConnection`."""

    def __init__(self, conn: asyncpg.Connection, lane: DirectLane) -> None:
        self._conn = conn
        self._lane = lane
        self.dialect = lane.dialect

    async def execute(
        self, statement: ClauseElement, params: Mapping[str, Any] | None = None
    ) -> DirectResult:
        params = params or {}
        compiled = self._lane.compiled(statement, params)
        args = compiled.arguments(params)
        for observe in self._lane.observers:
            observe(compiled.sql)
        if compiled.returns_rows:
            rows = await self._conn.fetch(compiled.sql, *args)
            return DirectResult(rows, len(rows))
        status = await self._conn.execute(compiled.sql, *args)
        return DirectResult((), _rowcount(status))

    async def scalar(
        self, statement: ClauseElement, params: Mapping[str, Any] | None = None
    ) -> Any:
        return (await self.execute(statement, params)).scalar()


def _rowcount(status: str) -> int:
    """asyncpg's command tag (`UPDATE 3`, `INSERT 0 1`): the count is its last word."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class DirectLane:
    """The connection pool and the compiled statements of one process.

    Its pool (`app.db.pg_pool`) has the engine's size, connect timeout and checkout timeout.
    """

    def __init__(self, engine: AsyncEngine, size: int, timeout: float) -> None:
        self.dialect = engine.dialect
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        self._pool = ConnectionPool(connector(args, kwargs, timeout), size, timeout)
        self._compiled: dict[tuple[int, tuple[str, ...]], _Compiled] = {}
        # Called with each statement's SQL before it runs (SQLAlchemy's engine events do not
        # see this lane): how tests and tools count the statements of a request.
        self.observers: list[Callable[[str], None]] = []

    def compiled(self, statement: ClauseElement, params: Mapping[str, Any]) -> _Compiled:
        key = (id(statement), tuple(params))
        found = self._compiled.get(key)
        if found is None:
            if id(statement) not in _PREBUILT:
                raise NotPrebuilt(f"not a prebuilt statement: {statement}")
            found = self._compiled[key] = _compile(statement, key[1], self.dialect)
        return found

    @asynccontextmanager
    async def connection(self, transaction: bool) -> AsyncIterator[DirectConnection]:
        conn = await self._pool.acquire()
        healthy = False
        try:
            if transaction:
                async with conn.transaction():
                    yield DirectConnection(conn, self)
            else:
                yield DirectConnection(conn, self)
            healthy = True
        except _DATABASE_ERRORS as exc:
            if conn.is_closed():
                raise ConnectionLost(str(exc)) from exc
            raise
        except Exception:
            healthy = True  # the caller's own refusal (an OAuth error, say): not the connection's
            raise
        finally:
            # Dropped after a database error (a server shutting down answers with an error
            # before it closes the socket, leaving the protocol mid-way) or a cancellation.
            self._pool.release(conn, healthy=healthy)

    @property
    def in_use(self) -> int:
        """Connections checked out of the pool now."""
        return self._pool.in_use

    async def close(self) -> None:
        await self._pool.close()
