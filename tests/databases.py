"""Fresh, migrated databases for a test run, a fuzz run or a fault run."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def postgres_admin(url: str, sql: str) -> None:
    """Run one statement on the server's `postgres` database (CREATE/DROP DATABASE)."""
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    subprocess.run(
        ["psql", admin.render_as_string(hide_password=False), "-qtAXc", sql],
        check=True,
        capture_output=True,
    )


def migrate(database_url: str, revision: str = "head", direction: str = "upgrade") -> None:
    """Run alembic in a child process, as `make run` does."""
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "alembic", direction, revision],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


@contextmanager
def fresh_database(base_url: str | None, prefix: str = "oauth2_test") -> Iterator[str]:
    """A new database beside `base_url` (PostgreSQL), or a temporary SQLite file when
    `base_url` is empty or SQLite; migrated to head, dropped afterwards."""
    if base_url and base_url.startswith("postgresql"):
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
        postgres_admin(base_url, f'CREATE DATABASE "{name}"')
        url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
        try:
            migrate(url)
            yield url
        finally:
            postgres_admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as folder:
            url = f"sqlite+aiosqlite:///{folder}/test.db"
            migrate(url)
            yield url


async def stored_rows(app: Any, table: Any, *where: Any) -> list[dict[str, Any]]:
    """The rows of a model's table (matching `where`), read straight from the database on
    the app's engine (the server's own lane is not involved), ordered by primary key."""
    statement = select(table.__table__).where(*where).order_by(*table.__table__.primary_key)
    async with app.state.services.db.engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(statement)).mappings()]
