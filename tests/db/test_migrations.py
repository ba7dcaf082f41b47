"""Migrations on the database kind under test: upgrade from empty, match the models, downgrade
back to empty, and upgrade again."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    delete,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.db.engine import make_engine
from app.db.models import AuthorizationCode, Base, Consent, OAuth2Client, Token, User, WebSession
from app.db.types import UTCDateTime
from tests.databases import postgres_admin

ROOT = Path(__file__).resolve().parents[2]

# The token table as it was before 0005 (with `code_id`), for data made at older revisions.
TOKENS_BEFORE_0005 = Table(
    "oauth2_tokens",
    MetaData(),
    Column("id", Integer, primary_key=True),
    *(Column(name, String) for name in ("access_token_hash", "refresh_token_hash")),
    *(Column(name, Integer) for name in ("client_id", "user_id", "code_id")),
    *(Column(name, String) for name in ("family_id", "scope")),
    *(
        Column(name, UTCDateTime)
        for name in ("issued_at", "access_expires_at", "refresh_expires_at", "revoked_at")
    ),
    Column("rotated_at", UTCDateTime),
)


def _select_before_0005(model: type[Base]) -> Select[Any]:
    """The model's columns that existed before 0005, as they were then: 0005 added
    `oauth2_codes.family_id`, and stores the token table's hashes as bytes (read back as
    the same hex, through the model, after it)."""
    if model is Token:
        return select(*(c for c in TOKENS_BEFORE_0005.c if c.name != "code_id"))
    return _select_after_0005(model)


def _select_after_0005(model: type[Base]) -> Select[Any]:
    """The same columns, read through the model (hex out of the token table's bytes)."""
    table = model.__table__
    added = {"family_id"} if table.name == "oauth2_codes" else set()
    return select(*(column for column in table.c if column.name not in added))


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
            user_id = await _new_user(conn, "alice", "alice@example.com")
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


async def _new_user(conn, username: str, email: str) -> int:
    row = await conn.execute(
        insert(User)
        .values(
            username=username,
            email=email,
            password_hash="$argon2id$x",
            created_at=datetime.now(UTC),
            is_active=True,
        )
        .returning(User.id)
    )
    return row.scalar_one()


async def _new_client(conn, user_id: int, name: str) -> int:
    row = await conn.execute(
        insert(OAuth2Client)
        .values(
            client_id=name.ljust(24, "x"),
            client_secret_hash="0" * 64,
            user_id=user_id,
            name=name,
            website="https://example.com",
            redirect_uris=["https://example.com/cb"],
            scope="profile:read",
            issued_at=datetime.now(UTC),
        )
        .returning(OAuth2Client.id)
    )
    return row.scalar_one()


async def test_0003_keeps_every_row_and_ids_are_never_reused_after_it(empty_database):
    """A database made before 0003, with users, apps, codes and tokens: the upgrade keeps
    every row, id and link, and from then on a deleted app's id is never given again (on
    SQLite the tables are rebuilt AUTOINCREMENT; PostgreSQL's sequences never go back)."""
    assert alembic(empty_database, "upgrade", "0002").returncode == 0
    engine = make_engine(Settings(database_url=empty_database))
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            user_id = await _new_user(conn, "Alice", "alice@example.com")
            kept = await _new_client(conn, user_id, "kept")
            newest = await _new_client(conn, user_id, "newest")
            code_id = (
                await conn.execute(
                    insert(AuthorizationCode)
                    .values(
                        code_hash="c" * 64,
                        client_id=kept,
                        user_id=user_id,
                        scope="profile:read",
                        created_at=now,
                        expires_at=now,
                    )
                    .returning(AuthorizationCode.id)
                )
            ).scalar_one()
            await conn.execute(  # with the code_id column that 0005 drops
                insert(TOKENS_BEFORE_0005).values(
                    access_token_hash="a" * 64,
                    refresh_token_hash="b" * 64,
                    client_id=kept,
                    user_id=user_id,
                    code_id=code_id,
                    family_id="f" * 32,
                    scope="profile:read",
                    issued_at=now,
                    access_expires_at=now,
                    refresh_expires_at=now,
                )
            )
            before = {
                model.__tablename__: (await conn.execute(_select_before_0005(model))).all()
                for model in (User, OAuth2Client, AuthorizationCode, Token)
            }

        upgraded = alembic(empty_database, "upgrade", "head")
        assert upgraded.returncode == 0, upgraded.stderr
        assert "Skipped unsupported reflection" not in upgraded.stderr

        async with engine.begin() as conn:
            after = {
                model.__tablename__: (await conn.execute(_select_after_0005(model))).all()
                for model in (User, OAuth2Client, AuthorizationCode, Token)
            }
            assert after == before
            await conn.execute(delete(OAuth2Client).where(OAuth2Client.id == newest))
            successor = await _new_client(conn, user_id, "successor")
            assert successor > newest
            # The case-blind username index came through the rebuild.
            with pytest.raises(IntegrityError):
                async with conn.begin_nested():
                    await conn.execute(
                        insert(User).values(
                            username="ALICE",
                            email="other@example.com",
                            password_hash="$argon2id$x",
                            created_at=now,
                            is_active=True,
                        )
                    )
            # And the foreign keys are enforced again: deleting the user cascades.
            await conn.execute(delete(User).where(User.id == user_id))
            assert (await conn.execute(select(Token.id))).all() == []
            if conn.dialect.name == "sqlite":
                tables = await conn.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
                )
                autoincrement = {name for name, sql in tables if "AUTOINCREMENT" in sql}
                # Every table with an integer id, those made after 0003 included.
                integer_ids = {
                    table.name
                    for table in Base.metadata.sorted_tables
                    if "id" in table.c and isinstance(table.c.id.type, Integer)
                }
                assert {"users", "oauth2_clients", "oauth2_codes", "oauth2_tokens"} <= integer_ids
                assert autoincrement == integer_ids
    finally:
        await engine.dispose()
    check = alembic(empty_database, "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_before_0003_sqlite_gave_a_deleted_apps_id_to_the_next_app(tmp_path):
    """The bug 0003 fixes, shown on the schema it fixes (SQLite only)."""
    database = tmp_path / "old.db"
    assert alembic(f"sqlite+aiosqlite:///{database}", "upgrade", "0002").returncode == 0
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT INTO users (username, email, password_hash, created_at, is_active) "
            "VALUES ('a', 'a@example.com', 'x', '2026-01-01', 1)"
        )
        values = "VALUES (?, 'h', 1, 'n', 'https://example.com', '[]', 's', '2026-01-01')"
        insert_client = (
            "INSERT INTO oauth2_clients (client_id, client_secret_hash, user_id, name, website, "
            f"redirect_uris, scope, issued_at) {values}"
        )
        first = conn.execute(insert_client, ("one",)).lastrowid
        conn.execute("DELETE FROM oauth2_clients WHERE id = ?", (first,))
        assert conn.execute(insert_client, ("two",)).lastrowid == first


def upgrade_at_once(database_url: str, count: int) -> list[tuple[int, str]]:
    """`count` processes running `alembic upgrade head` together; their exit status and stderr."""
    env = {**os.environ, "DATABASE_URL": database_url}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    return [(process.returncode, error) for process, error in zip(processes, errors, strict=True)]


async def test_replicas_migrating_at_once_all_succeed_and_leave_one_schema(empty_database):
    """Several replicas starting together each run `alembic upgrade head`: on PostgreSQL an
    advisory lock makes them take turns (without it, their CREATE TABLEs collide)."""
    if not empty_database.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL database; SQLite is one host's file")
    outcomes = await asyncio.to_thread(upgrade_at_once, empty_database, 4)
    assert [status for status, _ in outcomes] == [0, 0, 0, 0], outcomes
    assert await table_names(empty_database) == set(Base.metadata.tables) | {"alembic_version"}
    heads = alembic(empty_database, "heads").stdout.split()[0]
    engine = create_async_engine(empty_database)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await engine.dispose()
    assert [row[0] for row in rows] == [heads]


def test_alembic_runs_from_any_directory(empty_database, tmp_path):
    """`alembic -c /path/to/alembic.ini` finds its scripts wherever it is started."""
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini"), "upgrade", "head"],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": empty_database, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


async def test_0004_consents_are_one_per_user_and_app_and_go_with_either(empty_database):
    """A consent is unique per (user, app) and is deleted with its app or its user; a web
    session with its user; 0004 goes down to 0003 and up again."""
    assert alembic(empty_database, "upgrade", "head").returncode == 0
    engine = make_engine(Settings(database_url=empty_database))
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            user_id = await _new_user(conn, "alice", "alice@example.com")
            kept = await _new_client(conn, user_id, "kept")
            dropped = await _new_client(conn, user_id, "dropped")
            for client in (kept, dropped):
                await conn.execute(
                    insert(Consent).values(
                        user_id=user_id,
                        client_id=client,
                        scope="profile:read",
                        created_at=now,
                        updated_at=now,
                    )
                )
            await conn.execute(
                insert(WebSession).values(
                    secret_hash="s" * 64,
                    user_id=user_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now,
                )
            )
            with pytest.raises(IntegrityError):
                async with conn.begin_nested():
                    await conn.execute(
                        insert(Consent).values(
                            user_id=user_id,
                            client_id=kept,
                            scope="workouts:read",
                            created_at=now,
                            updated_at=now,
                        )
                    )
            await conn.execute(delete(OAuth2Client).where(OAuth2Client.id == dropped))
            assert (await conn.execute(select(Consent.client_id))).scalars().all() == [kept]
            await conn.execute(delete(User).where(User.id == user_id))
            assert (await conn.execute(select(Consent.id))).all() == []
            assert (await conn.execute(select(WebSession.id))).all() == []
    finally:
        await engine.dispose()
    down = alembic(empty_database, "downgrade", "0003")
    assert down.returncode == 0, down.stderr
    assert not {"oauth2_consents", "web_sessions"} & await table_names(empty_database)
    up = alembic(empty_database, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    assert {"oauth2_consents", "web_sessions"} <= await table_names(empty_database)


async def test_0005_moves_each_codes_family_onto_the_code_and_back(empty_database):
    """A database at 0004 with two codes, one spent with a rotated family of two pairs: after
    0005 the spent code keeps the family's id, `code_id` and the single-column indexes are
    gone, the two composite ones exist (fillfactor 80 on PostgreSQL); downgrading to 0004
    links every pair to its code again."""
    assert alembic(empty_database, "upgrade", "0004").returncode == 0
    engine = make_engine(Settings(database_url=empty_database))
    now = datetime.now(UTC)
    codes_before_0005 = Table(
        "oauth2_codes",
        MetaData(),
        *(
            Column(c.name, c.type, primary_key=c.primary_key)
            for c in AuthorizationCode.__table__.c
            if c.name != "family_id"
        ),
    )
    try:
        async with engine.begin() as conn:
            user_id = await _new_user(conn, "alice", "alice@example.com")
            client = await _new_client(conn, user_id, "app")
            code = {"client_id": client, "user_id": user_id, "scope": "profile:read"}
            code |= {"created_at": now, "expires_at": now}
            ids = []
            for name, used in (("s", now), ("u", None)):
                inserted = await conn.execute(
                    insert(codes_before_0005)
                    .values(code_hash=name * 64, used_at=used, **code)
                    .returning(codes_before_0005.c.id)
                )
                ids.append(inserted.scalar_one())
            spent, unused = ids
            for n, rotated in enumerate((now, None)):
                await conn.execute(
                    insert(TOKENS_BEFORE_0005).values(
                        access_token_hash=f"a{n}" * 32,
                        refresh_token_hash=f"b{n}" * 32,
                        client_id=client,
                        user_id=user_id,
                        code_id=spent,
                        family_id="f" * 32,
                        scope="profile:read",
                        issued_at=now,
                        access_expires_at=now,
                        refresh_expires_at=now,
                        revoked_at=rotated,
                        rotated_at=rotated,
                    )
                )

        upgraded = alembic(empty_database, "upgrade", "0005")
        assert upgraded.returncode == 0, upgraded.stderr
        async with engine.connect() as conn:
            families = dict(
                (
                    await conn.execute(select(AuthorizationCode.id, AuthorizationCode.family_id))
                ).all()
            )
            assert families == {spent: "f" * 32, unused: None}

            def token_schema(sync_conn: Any) -> tuple[set[str], dict[str, list[str]]]:
                found = inspect(sync_conn)
                columns = {c["name"] for c in found.get_columns("oauth2_tokens")}
                indexes = {i["name"]: i["column_names"] for i in found.get_indexes("oauth2_tokens")}
                return columns, indexes

            stored = await conn.execute(
                text(
                    "SELECT length(access_token_hash), length(family_id) FROM oauth2_tokens"
                    " ORDER BY id"
                )
            )
            assert stored.all() == [(32, 16), (32, 16)]  # bytes, not hex text
            hashes = await conn.execute(select(Token.access_token_hash).order_by(Token.id))
            assert hashes.scalars().all() == ["a0" * 32, "a1" * 32]  # the same hex, read back
            columns, indexes = await conn.run_sync(token_schema)
            assert "code_id" not in columns
            # (PostgreSQL also lists the unique constraints' indexes, on the two hashes)
            assert {name: cols for name, cols in indexes.items() if name.startswith("ix_")} == {
                "ix_oauth2_tokens_user_id_family_id_id": ["user_id", "family_id", "id"],
                "ix_oauth2_tokens_client_id_user_id": ["client_id", "user_id"],
            }
            if conn.dialect.name == "postgresql":
                options = await conn.scalar(
                    text("SELECT reloptions FROM pg_class WHERE relname = 'oauth2_tokens'")
                )
                assert options == ["fillfactor=80"]

        downgraded = alembic(empty_database, "downgrade", "0004")
        assert downgraded.returncode == 0, downgraded.stderr
        async with engine.connect() as conn:
            links = await conn.execute(
                text("SELECT code_id, access_token_hash FROM oauth2_tokens ORDER BY id")
            )
            assert links.all() == [(spent, "a0" * 32), (spent, "a1" * 32)]  # hex text again
            code_columns = await conn.run_sync(
                lambda sync_conn: {
                    c["name"] for c in inspect(sync_conn).get_columns("oauth2_codes")
                }
            )
            assert "family_id" not in code_columns
    finally:
        await engine.dispose()
