"""Migrations on the database kind under test: upgrade from empty, match the models, downgrade
back to empty, and upgrade again."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.db.engine import make_engine
from app.db.models import Base, OAuth2Client, User
from tests.databases import postgres_admin

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own, empty, of the kind DATABASE_URL names (SQLite by default)."""
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith("postgresql"):
        name = f"oauth2_migrations_{os.getpid()}_{secrets.token_hex(3)}"
        postgres_admin(base, f'CREATE DATABASE "{name}"')
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False)
        finally:
            postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite+aiosqlite:///{tmp_path}/migrations.db"


def alembic(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The alembic command line, as `make run` and the Dockerfile run it."""
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def table_names(database_url: str) -> set[str]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_from_empty_matches_the_models_and_downgrades_to_empty(empty_database):
    model_tables = set(Base.metadata.tables)
    assert await table_names(empty_database) == set()

    upgraded = alembic(empty_database, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert await table_names(empty_database) == model_tables | {"alembic_version"}

    check = alembic(empty_database, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr

    current = alembic(empty_database, "current")
    heads = alembic(empty_database, "heads")
    assert current.returncode == heads.returncode == 0
    assert current.stdout.split()[0] == heads.stdout.split()[0]

    downgraded = alembic(empty_database, "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert await table_names(empty_database) <= {"alembic_version"}

    again = alembic(empty_database, "upgrade", "head")
    assert again.returncode == 0, again.stderr
    assert await table_names(empty_database) == model_tables | {"alembic_version"}


async def test_upgrade_is_idempotent_at_head(empty_database):
    assert alembic(empty_database, "upgrade", "head").returncode == 0
    second = alembic(empty_database, "upgrade", "head")
    assert second.returncode == 0, second.stderr
    assert await table_names(empty_database) == set(Base.metadata.tables) | {"alembic_version"}


async def test_the_migrated_schema_enforces_cascades(empty_database):
    """Foreign keys are on, on SQLite too: deleting a user removes their clients."""
    assert alembic(empty_database, "upgrade", "head").returncode == 0
    engine = make_engine(Settings(database_url=empty_database))
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            user_id = (
                await conn.execute(
                    insert(User)
                    .values(
                        username="alice",
                        email="alice@example.com",
                        password_hash="$argon2id$x",
                        created_at=now,
                        is_active=True,
                    )
                    .returning(User.id)
                )
            ).scalar_one()
            await conn.execute(
                insert(OAuth2Client).values(
                    client_id="c" * 24,
                    client_secret_hash="0" * 64,
                    user_id=user_id,
                    name="app",
                    website="https://example.com",
                    redirect_uris=["https://example.com/cb"],
                    scope="profile:read",
                    issued_at=now,
                )
            )
            await conn.execute(delete(User).where(User.id == user_id))
            remaining = (await conn.execute(select(OAuth2Client.id))).all()
        assert remaining == []
    finally:
        await engine.dispose()
