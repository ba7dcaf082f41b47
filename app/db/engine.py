"""`Database`: the lane a process's repositories run on, and the engine beside it.

- A server on PostgreSQL runs every statement on the asyncpg lane (`app.db.asyncpg_lane`),
  whose FIFO pool is the process's only pool: at most `DB_POOL_SIZE` connections. Its
  `AsyncEngine` has no pool (`NullPool`) and serves the tools only (tests' own reads).
- The command line on PostgreSQL (`Database.for_tools`), and SQLite always, run on the
  SQLAlchemy lane (`app.db.sqlalchemy_lane`): SQLite with SQLAlchemy's pool, PostgreSQL on
  the pool-less engine, with no statement timeout (maintenance may take long).
- Alembic uses `make_engine` alone.

Every call of `rows`/`first`/`scalar`/`rowcount` is a unit of its own (autocommit);
`connection()` holds one connection for several statements and `transaction()` one
transaction. Which one a unit of work needs is the repository's decision.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, literal_column, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings, make_private, private_directory
from app.db.asyncpg_lane import AsyncpgLane
from app.db.executor import Executor, Lane
from app.db.pg_pool import APPLICATION_NAME
from app.db.queries import EMPTY, Params, Query
from app.db.sqlalchemy_lane import SQLAlchemyLane

T = TypeVar("T")

TOOLS_APPLICATION_NAME = f"{APPLICATION_NAME}-tools"
PING = Query(select(literal_column("1")))


def make_engine(settings: Settings) -> AsyncEngine:
    """SQLite: SQLAlchemy's pool of `DB_POOL_SIZE`, foreign keys, WAL and a busy timeout.
    PostgreSQL: no pool (the server's is the asyncpg lane's), the connect timeout, and no
    statement timeout (what runs here is migrations and maintenance)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            private_sqlite_file(Path(url.database), settings.data_dir)
        engine = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=0,
            pool_timeout=settings.db_pool_timeout,
            connect_args={"timeout": 30},
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {
        "timeout": settings.db_pool_timeout,
        "server_settings": {"application_name": TOOLS_APPLICATION_NAME},
    }
    return create_async_engine(
        url, poolclass=NullPool, connect_args=connect_args, hide_parameters=True
    )


def private_sqlite_file(path: Path, data_dir: Path) -> None:
    """The database file, made 0600 before SQLite opens it, in a folder made 0700 (the data
    folder is tightened to it too; any other existing folder is left as it is): SQLite gives
    its -wal and -shm files the database file's permissions, so they follow. A file made with
    wider permissions before is tightened, its -wal and -shm with it."""
    if not path.parent.exists() or path.parent.resolve() == data_dir.resolve():
        private_directory(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if file.exists():
                make_private(file, 0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """Use `for_server` or `for_tools`."""

    def __init__(self, settings: Settings, *, asyncpg_lane: bool) -> None:
        self.engine = make_engine(settings)
        dialect = self.engine.dialect
        self.dialect_name: str = dialect.name
        # Called with each statement's SQL before it runs, on either lane: how tests and
        # tools count the statements of a request.
        self.observers: list[Callable[[str], None]] = []
        self.lane: Lane
        if asyncpg_lane and dialect.name == "postgresql":
            self.lane = AsyncpgLane(
                self.engine.url,
                dialect,
                size=settings.db_pool_size,
                timeout=settings.db_pool_timeout,
                statement_timeout=settings.statement_timeout,
                max_lifetime=settings.db_pool_max_lifetime,
                observers=self.observers,
            )
        else:
            self.lane = SQLAlchemyLane(self.engine, self.observers)

    @classmethod
    def for_server(cls, settings: Settings) -> Database:
        return cls(settings, asyncpg_lane=True)

    @classmethod
    def for_tools(cls, settings: Settings) -> Database:
        """The command line's: SQLAlchemy's lane on either database, no statement timeout."""
        return cls(settings, asyncpg_lane=False)

    @property
    def single_statement_writes(self) -> bool:
        """True when a multi-table write can be one atomic statement (PostgreSQL's
        data-modifying CTEs), which needs no transaction around it."""
        return self.dialect_name == "postgresql"

    # The units of one statement: the lane's own methods, without a step in between.
    def rows(self, query: Query[T], params: Params = EMPTY) -> Awaitable[list[T]]:
        return self.lane.rows(query, params)

    def first(self, query: Query[T], params: Params = EMPTY) -> Awaitable[T | None]:
        return self.lane.first(query, params)

    def scalar(self, query: Query[Any], params: Params = EMPTY) -> Awaitable[Any]:
        return self.lane.scalar(query, params)

    def rowcount(self, query: Query[Any], params: Params = EMPTY) -> Awaitable[int]:
        return self.lane.rowcount(query, params)

    def connection(self) -> AbstractAsyncContextManager[Executor]:
        return self.lane.connection()

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        return self.lane.transaction()

    @property
    def in_use(self) -> int:
        """Connections checked out now."""
        return self.lane.in_use

    async def ping(self) -> None:
        """`SELECT 1` through the lane's pool (`/health`); `DatabaseUnavailable` if down."""
        await self.scalar(PING)

    async def dispose(self) -> None:
        await self.lane.close()
        await self.engine.dispose()
