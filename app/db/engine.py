"""The async engine and the two ways in: autocommit reads and all-or-nothing transactions."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.config import Settings, make_private, private_directory
from app.db.direct import DirectLane
from app.db.storage import Storage


def make_engine(settings: Settings) -> AsyncEngine:
    """One engine per process; SQLite gets foreign keys, WAL and a busy timeout."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            private_sqlite_file(Path(url.database), settings.data_dir)
        engine = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            pool_timeout=settings.db_pool_timeout,
            connect_args={"timeout": 30},
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {
        "timeout": settings.db_pool_timeout,
        "command_timeout": 30,
        "server_settings": {"application_name": "fittrackee-oauth2"},
    }
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        connect_args=connect_args,
        hide_parameters=True,
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
    """Hands out `Storage` (the repositories) over one connection.

    `autocommit()` runs each statement on its own (reads, and writes that are one statement),
    which saves BEGIN/COMMIT round trips on the hot paths; `transaction()` wraps every
    statement in one transaction.
    """

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self._lane = (
            DirectLane(engine, settings.db_pool_size, settings.db_pool_timeout)
            if engine.dialect.name == "postgresql"
            else None
        )

    @property
    def lane(self) -> DirectLane | None:
        """The hot lane (PostgreSQL only)."""
        return self._lane

    @property
    def statement_observers(self) -> list[Callable[[str], None]]:
        """Callables given each SQL statement the hot lane runs (see `hot()`); SQLAlchemy's
        own statements are seen through its engine events."""
        return self._lane.observers if self._lane is not None else []

    @property
    def single_statement_writes(self) -> bool:
        """True when a repository's multi-table write is one atomic statement (PostgreSQL's
        data-modifying CTEs), so it can run in `autocommit()`, not a transaction."""
        return self.engine.dialect.name == "postgresql"

    def atomic(self) -> AbstractAsyncContextManager[Storage]:
        """For writes a repository makes atomic: autocommit where they are one statement,
        a transaction elsewhere."""
        return self.autocommit() if self.single_statement_writes else self.transaction()

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Storage]:
        async with self.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield Storage(autocommit)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Storage]:
        async with self.engine.begin() as conn:
            yield Storage(conn)

    @asynccontextmanager
    async def hot(self, transaction: bool = False) -> AsyncIterator[Storage]:
        """For the hot paths: `autocommit()` (or `transaction()`), but on PostgreSQL the
        statements run on the direct lane (`app.db.direct`), which takes prebuilt statements
        only. Elsewhere it is exactly `autocommit()` / `transaction()`."""
        if self._lane is None:
            async with self.transaction() if transaction else self.autocommit() as storage:
                yield storage
            return
        async with self._lane.connection(transaction) as conn:
            yield Storage(conn)

    def hot_atomic(self) -> AbstractAsyncContextManager[Storage]:
        """`atomic()` on the hot lane."""
        return self.hot(transaction=not self.single_statement_writes)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        if self._lane is not None:
            await self._lane.close()
        await self.engine.dispose()
