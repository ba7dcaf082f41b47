"""The two lanes behind the one executor interface (`app.db.executor`): the asyncpg lane
(a server on PostgreSQL) and SQLAlchemy's (SQLite; the tools on PostgreSQL). Same results,
same errors, same transactions, same statement hook; on SQLite both databases below run on
SQLAlchemy's lane."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from app import clock
from app.config import Settings
from app.db.asyncpg_lane import AsyncpgLane
from app.db.engine import Database
from app.db.errors import ConstraintViolation, DatabaseUnavailable, from_asyncpg, from_sqlalchemy
from app.db.queries import POSTGRESQL, Query
from app.db.repositories.clients import OWNED_BY_ID
from app.db.repositories.users import CREATE, PROFILE, TAKEN, DuplicateUser
from app.db.sqlalchemy_lane import SQLAlchemyLane
from app.db.storage import Storage

SLEEP = Query(select(func.pg_sleep(5)), dialects=POSTGRESQL)


@pytest.fixture(params=["server", "tools"])
async def db(
    request: pytest.FixtureRequest, app: FastAPI, settings: Settings
) -> AsyncIterator[Database]:
    """A `Database` on this run's database, as the server makes it or as the tools do
    (requesting `app` empties the tables first)."""
    database = (Database.for_server if request.param == "server" else Database.for_tools)(settings)
    yield database
    await database.dispose()


def test_each_database_takes_its_lane(settings: Settings, is_postgres: bool) -> None:
    server, tools = Database.for_server(settings), Database.for_tools(settings)
    assert isinstance(server.lane, AsyncpgLane if is_postgres else SQLAlchemyLane)
    assert isinstance(tools.lane, SQLAlchemyLane)


async def test_results_are_the_querys_values_with_every_type_processed(db: Database) -> None:
    storage = Storage(db)
    now = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    user_id = await storage.users.create(
        username="alice", email="alice@example.com", password_hash="h", now=now
    )
    created = await storage.clients.create(
        user_id=user_id,
        client_id="c" * 24,
        client_secret_hash="s" * 64,
        name="App",
        website="https://example.com",
        description=None,
        redirect_uris=["https://example.com/cb", "https://example.com/cb2"],
        scope="profile:read",
        now=now,
    )
    read = await db.first(OWNED_BY_ID, {"user_id": user_id, "pk": created.id})
    assert read == created
    assert read.redirect_uris == ["https://example.com/cb", "https://example.com/cb2"]
    assert read.issued_at == now and read.issued_at.tzinfo is UTC
    profile = await db.first(PROFILE, {"user_id": user_id})
    assert profile is not None and profile.created_at == now and profile.accepted_policy_at == now
    assert profile.is_active is True and profile.first_name is None
    assert await db.first(PROFILE, {"user_id": user_id + 1}) is None


async def test_a_constraint_refusal_is_one_error_on_either_lane(db: Database) -> None:
    """The driver's unique violation is `ConstraintViolation`, which the repository reads
    (usernames are unique regardless of case, e-mails as stored)."""
    params = {"p_password_hash": "h", "p_now": clock.utcnow()}
    await db.scalar(CREATE, {**params, "p_username": "bob", "p_email": "bob@example.com"})
    with pytest.raises(ConstraintViolation, match=r"(?i)username"):
        await db.scalar(CREATE, {**params, "p_username": "BOB", "p_email": "b2@example.com"})
    users = Storage(db).users
    with pytest.raises(DuplicateUser) as caught:
        await users.create(
            username="bob2", email="bob@example.com", password_hash="h", now=clock.utcnow()
        )
    assert caught.value.field == "email"
    assert db.in_use == 0


async def test_a_transaction_is_all_or_nothing_and_the_connection_lives_on(db: Database) -> None:
    class Refused(Exception):
        pass

    params = {"p_email": "carol@example.com", "p_password_hash": "h", "p_now": clock.utcnow()}
    with pytest.raises(Refused):
        async with db.transaction() as tx:
            await tx.scalar(CREATE, {**params, "p_username": "carol"})
            raise Refused
    assert await db.rows(TAKEN, {"lowered": "carol", "email": "carol@example.com"}) == []
    async with db.transaction() as tx:
        await tx.scalar(CREATE, {**params, "p_username": "carol"})
    assert await db.rows(TAKEN, {"lowered": "carol", "email": "carol@example.com"}) == [
        ("carol", "carol@example.com")
    ]
    assert db.in_use == 0


async def test_the_statement_hook_sees_every_statement_on_either_lane(db: Database) -> None:
    seen: list[str] = []
    db.observers.append(seen.append)
    await db.first(PROFILE, {"user_id": 1})
    async with db.connection() as conn:
        await conn.first(PROFILE, {"user_id": 2})
    assert len(seen) == 2 and all(sql.startswith("SELECT users.id") for sql in seen)


@pytest.mark.parametrize("kind", ["server", "tools"])
async def test_an_unreachable_database_is_database_unavailable(
    kind: str, is_postgres: bool, tmp_path: object
) -> None:
    url = (
        "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"
        if is_postgres
        else f"sqlite+aiosqlite:///{tmp_path}"  # a directory: SQLite cannot open it
    )
    settings = Settings(app_env="test", database_url=url, db_pool_timeout=1)
    db = (Database.for_server if kind == "server" else Database.for_tools)(settings)
    try:
        with pytest.raises(DatabaseUnavailable):
            await db.ping()
        with pytest.raises(DatabaseUnavailable):
            async with db.transaction():
                pass
    finally:
        await db.dispose()


async def test_a_statement_past_its_timeout_is_database_unavailable(
    settings: Settings, is_postgres: bool
) -> None:
    """A database that does not answer (frozen, or a statement stuck behind a lock) costs a
    request the statement timeout, not asyncpg's default 30 s."""
    if not is_postgres:
        pytest.skip("the statement timeout is the asyncpg lane's")
    db = Database.for_server(settings.model_copy(update={"db_statement_timeout": 0.3}))
    try:
        started = clock.utcnow()
        with pytest.raises(DatabaseUnavailable):
            await db.scalar(SLEEP)
        assert clock.utcnow() - started < timedelta(seconds=2)
        await db.ping()  # the timed-out connection was dropped; a new one serves
        assert db.in_use == 0
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), DatabaseUnavailable),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), DatabaseUnavailable),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed midway"), DatabaseUnavailable),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), DatabaseUnavailable),
        (asyncpg.exceptions.QueryCanceledError("canceling statement"), DatabaseUnavailable),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), ConstraintViolation),
        (asyncpg.exceptions.UndefinedColumnError("no such column"), None),
        (asyncpg.PostgresError("no SQLSTATE at all"), None),
        (asyncpg.InterfaceError("another operation is in progress"), None),
        (
            asyncpg.exceptions.InternalClientError("cannot switch to state 12"),
            DatabaseUnavailable,
        ),
        (ConnectionRefusedError(), DatabaseUnavailable),
        (TimeoutError(), DatabaseUnavailable),
    ],
)
def test_asyncpg_errors_are_told_apart(error: BaseException, expected: type | None) -> None:
    """By SQLSTATE: an outage is ours to name (503), a query problem is a bug (500)."""
    mapped = from_asyncpg(error, connection_closed=False)
    assert (type(mapped) if mapped is not None else None) is expected


def test_an_error_on_a_connection_that_died_is_an_outage() -> None:
    error = asyncpg.InterfaceError("connection is closed")
    assert isinstance(from_asyncpg(error, connection_closed=True), DatabaseUnavailable)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            sa_exc.OperationalError("SELECT 1", {}, ConnectionResetError("reset")),
            DatabaseUnavailable,
        ),
        (sa_exc.TimeoutError("QueuePool limit reached"), DatabaseUnavailable),
        (
            sa_exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")),
            ConstraintViolation,
        ),
        (sa_exc.ProgrammingError("SELECT nope", {}, Exception("syntax error")), None),
        (OSError("unreachable"), DatabaseUnavailable),
    ],
)
def test_sqlalchemy_errors_are_told_apart(error: BaseException, expected: type | None) -> None:
    mapped = from_sqlalchemy(error)
    assert (type(mapped) if mapped is not None else None) is expected
