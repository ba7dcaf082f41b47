"""Every repository statement is a module-level `Query`, compiled once by the lane that runs
it, through public SQLAlchemy API only."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.asyncio import create_async_engine

import app.db.storage  # noqa: F401 (every repository module, so every query, is registered)
from app.db import queries
from app.db.asyncpg_lane import AsyncpgLane, compile_query
from app.db.models import User
from app.db.queries import Query, registered

ROOT = Path(__file__).resolve().parents[2]
ASYNCPG = postgresql.asyncpg.dialect()  # type: ignore[attr-defined]
SQLITE = sqlite.aiosqlite.dialect()  # type: ignore[attr-defined]


def test_the_repositories_register_their_queries() -> None:
    assert len(registered()) >= 40


@pytest.mark.parametrize("query", registered(), ids=repr)
def test_every_registered_query_compiles_on_each_of_its_databases(query: Query[object]) -> None:
    if "postgresql" in query.dialects:
        compiled = compile_query(query, ASYNCPG)
        assert compiled.sql.count("$") >= len(compiled.binds)
        assert all(name for name, *_ in compiled.binds)
    if "sqlite" in query.dialects:
        assert query.statement.compile(dialect=SQLITE).string  # type: ignore[attr-defined]


def test_the_lane_compiles_every_query_when_it_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken statement stops the start-up, not the first request that needs it."""
    monkeypatch.setattr(queries, "_REGISTERED", list(registered()))
    Query(insert(User).values(no_such_column=bindparam("x")))
    url = make_url("postgresql+asyncpg://nobody@127.0.0.1:1/nothing")
    dialect = create_async_engine(url).dialect
    with pytest.raises(CompileError, match="no_such_column"):
        AsyncpgLane(
            url,
            dialect,
            size=1,
            timeout=1,
            statement_timeout=1,
            max_lifetime=60,
            observers=[],
        )


def test_a_query_reads_rows_into_what_it_is_given_by_column_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(queries, "_REGISTERED", list(registered()))

    @dataclass
    class Named:
        id: int
        username: str

    query = Query(select(User.id, User.username), Named)
    assert query.read((1, "alice")) == Named(1, "alice")
    assert Query(select(User.id, User.username)).read([1, "alice"]) == (1, "alice")

    @dataclass
    class Misnamed:
        id: int
        name: str

    with pytest.raises(TypeError, match="takes"):
        Query(select(User.id, User.username), Misnamed)


def _attributes(path: Path) -> list[tuple[int, str, str]]:
    """(line, base, attribute) of every `base._private` access in the module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if node.attr.startswith("__") and node.attr.endswith("__"):
                continue
            base = ast.unparse(node.value)
            found.append((node.lineno, base, node.attr))
    return found


def test_app_db_reads_no_private_attribute_of_anything_but_itself() -> None:
    """No `compiled._bind_processors`, `_result_columns` or any other private attribute of
    SQLAlchemy's or asyncpg's objects: only `self._x` and `cls._x` of our own classes."""
    offending = [
        f"{path.relative_to(ROOT)}:{line}: {base}.{attribute}"
        for path in sorted((ROOT / "app" / "db").rglob("*.py"))
        for line, base, attribute in _attributes(path)
        if base not in ("self", "cls")
    ]
    assert offending == []
    source = "".join(path.read_text() for path in (ROOT / "app").rglob("*.py"))
    assert "_bind_processors" not in source and "_result_columns" not in source
