"""PostgreSQL: the statements that find a token by a hash take that hash's unique index, even
in the plan a prepared statement keeps on a new database whose tables were never analyzed
(the worst case: the planner knows nothing, and keeps that generic plan for the connection's
life). Before `_issued_to`, the rotation's plan there read the token table by the
(client_id, user_id) index: every token of the client, on every refresh."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from app.db.asyncpg_lane import compile_query
from app.db.queries import Query
from app.db.repositories import maintenance, tokens
from tests.databases import fresh_database

BASE_URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not BASE_URL.startswith("postgresql"), reason="PostgreSQL's planner"
)
ASYNCPG = postgresql.asyncpg.dialect()  # type: ignore[attr-defined]
REFRESH = "oauth2_tokens_refresh_token_hash_key"
ACCESS = "oauth2_tokens_access_token_hash_key"
FAMILY = "Index Only Scan Backward using ix_oauth2_tokens_user_id_family_id_id"
# Each statement, and what its plan must use: a hash's index, and for a family its newest
# row in one backward step of the family index (so its cost does not grow with the family).
PLANS = {
    "ROTATE_AND_ISSUE": (tokens.ROTATE_AND_ISSUE, [REFRESH]),
    "ROTATE": (tokens.ROTATE, [REFRESH]),
    "REVOKE_FAMILY_OF_ROTATED": (tokens.REVOKE_FAMILY_OF_ROTATED, [REFRESH, FAMILY]),
    "REVOKE_ISSUED_FROM_CODE": (
        tokens.REVOKE_ISSUED_FROM_CODE,
        ["oauth2_codes_code_hash_key", FAMILY],
    ),
    "REVOKE": (tokens.REVOKE, [ACCESS, REFRESH, "oauth2_tokens_pkey"]),
    "FOR_INTROSPECTION": (tokens.FOR_INTROSPECTION, [ACCESS, REFRESH]),
    "ACCESS_WITH_USER": (tokens.ACCESS_WITH_USER, [ACCESS]),
    "DELETE_DEAD_TOKENS": (maintenance.DELETE_DEAD_TOKENS, ["oauth2_tokens_pkey", FAMILY]),
}


@pytest.fixture
async def never_analyzed() -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new, migrated, empty database, with generic plans forced."""
    with fresh_database(BASE_URL, prefix="oauth2_plans") as url:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            yield conn
        finally:
            await conn.close()


async def generic_plan(conn: asyncpg.Connection, query: Query[object]) -> str:
    compiled = compile_query(query, ASYNCPG)
    await conn.execute(f"PREPARE probe AS {compiled.sql}")
    arguments = f"({', '.join(['NULL'] * len(compiled.binds))})" if compiled.binds else ""
    try:
        rows = await conn.fetch(f"EXPLAIN EXECUTE probe{arguments}")
        return "\n".join(row[0] for row in rows)
    finally:
        await conn.execute("DEALLOCATE probe")


@pytest.mark.parametrize("name", PLANS)
async def test_tokens_are_found_by_their_indexes_on_a_table_never_analyzed(
    never_analyzed: asyncpg.Connection, name: str
) -> None:
    query, indexes = PLANS[name]
    plan = await generic_plan(never_analyzed, query)
    for index in indexes:
        assert index in plan, plan
    assert "ix_oauth2_tokens_client_id_user_id" not in plan, plan
    assert "Seq Scan on oauth2_tokens" not in plan, plan
