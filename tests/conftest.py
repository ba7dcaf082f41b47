"""Test fixtures: a fresh, migrated database per run (SQLite by default, PostgreSQL when
DATABASE_URL says so), clean tables before every test, and an HTTP client on the ASGI app."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import clock
from app.config import Settings
from app.db.models import Base
from app.main import create_app
from tests.helpers import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent


def _postgres_admin(url: str, sql: str) -> None:
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


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database made for this run and dropped after it."""
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith("postgresql"):
        name = f"oauth2_test_{os.getpid()}_{secrets.token_hex(3)}"
        _postgres_admin(base, f'CREATE DATABASE "{name}"')
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        migrate(url)
        yield url
        _postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        with tempfile.TemporaryDirectory(prefix="oauth2-test-") as folder:
            url = f"sqlite+aiosqlite:///{folder}/test.db"
            migrate(url)
            yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        app_env="test",
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        argon2_rounds=1,
        argon2_memory_cost=1024,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    yield application
    await application.state.services.db.dispose()


@pytest.fixture(autouse=True)
async def clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test starts from empty tables and an honest clock."""
    if "app" in request.fixturenames or "client" in request.fixturenames:
        application: FastAPI = request.getfixturevalue("app")
        db = application.state.services.db
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        async with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    await conn.execute(text(f"DELETE FROM {table}"))
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")
