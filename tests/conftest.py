"""Test fixtures: a fresh, migrated database per run (SQLite by default, PostgreSQL when
DATABASE_URL says so), clean tables before every test, and an HTTP client on the ASGI app."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app import clock
from app.config import Settings
from app.db.models import Base
from app.main import create_app
from tests.databases import fresh_database
from tests.databases import postgres_admin as _postgres_admin  # noqa: F401 (old import path)
from tests.helpers import TEST_SECRET_KEY, issue_tokens, user_token
from tests.helpers import create_app as create_oauth_app

# Every status an endpoint answers in the suite must be documented (see the plugin's doc).
pytest_plugins = ["tests.documented_statuses"]

# A developer's `.env` in the checkout must not change what the tests (and the servers and
# commands they start) see; tests of `.env` itself name their own file.
os.environ["ENV_FILE"] = os.devnull


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database made for this run and dropped after it."""
    with fresh_database(os.environ.get("DATABASE_URL")) as url:
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
def server_with(
    app: FastAPI, settings: Settings
) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """`async with server_with(name=value) as http`: an HTTP client on an app built with
    these settings changed, over the same (cleaned) database as `app`."""

    @asynccontextmanager
    async def build(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        other = create_app(settings.model_copy(update={"access_log": False, **overrides}))
        transport = httpx.ASGITransport(app=other)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield http
        finally:
            await other.state.services.db.dispose()

    return build


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> str:
    """A registered user's first-party auth token."""
    return await user_token(client, "alice")


@pytest.fixture
async def oauth_app(client: httpx.AsyncClient, alice: str) -> dict[str, Any]:
    """An app of alice's, as created (with its secret)."""
    return await create_oauth_app(client, alice)


@pytest.fixture
async def tokens(client: httpx.AsyncClient, alice: str, oauth_app: dict[str, Any]) -> dict:
    """A token response for oauth_app, from the PKCE code flow."""
    return await issue_tokens(client, alice, oauth_app)


@pytest.fixture
def statements(app: FastAPI) -> Iterator[list[str]]:
    """The first word of every SQL statement the app's repositories send while the test
    runs, on either lane (BEGIN and COMMIT not included)."""
    seen: list[str] = []

    def record(sql: str) -> None:
        seen.append(sql.split(None, 1)[0].upper())

    observers = app.state.services.db.observers
    observers.append(record)
    yield seen
    observers.remove(record)
