"""The one interface the repositories run their queries through, and its two implementations'
common shape.

- `Executor`: run a `Query` (`app.db.queries`) and read its result as the query says: all
  rows, the first row, the first column of the first row, or the number of rows changed.
  Results are the query's own values (dataclasses, tuples), with every column type's result
  processor applied, whichever lane ran them.
- `Lane`: an `Executor` whose every call is a unit of its own (autocommit, on a connection
  checked out for that statement only), which can also hand out one connection for several
  statements (`connection()`, still autocommit) or for one transaction (`transaction()`).

Two lanes implement it: `app.db.asyncpg_lane` (PostgreSQL, the server: raw asyncpg
connections from one FIFO pool) and `app.db.sqlalchemy_lane` (SQLAlchemy's `AsyncConnection`:
SQLite always; PostgreSQL for the command line and tools). Both raise `app.db.errors`' family.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from app.db.queries import EMPTY, Params, Query

T = TypeVar("T")


class Executor(Protocol):
    async def rows(self, query: Query[T], params: Params = EMPTY) -> list[T]: ...

    async def first(self, query: Query[T], params: Params = EMPTY) -> T | None: ...

    async def scalar(self, query: Query[Any], params: Params = EMPTY) -> Any: ...

    async def rowcount(self, query: Query[Any], params: Params = EMPTY) -> int: ...


class Lane(Executor, Protocol):
    @property
    def in_use(self) -> int:
        """Connections checked out now."""
        ...

    def connection(self) -> AbstractAsyncContextManager[Executor]:
        """One connection for several statements, each committed on its own."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """One connection and one transaction: committed when the block ends, rolled back
        when it raises (whatever it raises)."""
        ...

    async def close(self) -> None: ...
