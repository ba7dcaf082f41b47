"""`Query`: a repository statement, built once at import with bind parameters.

Building a SQLAlchemy statement costs more than running it on the hot paths, and a statement
built per call cannot be compiled once. So every statement the repositories run is a
module-level `Query`, and the executors take nothing else (`app.db.executor`): a statement built
per call does not type-check as one. Each `Query` is registered here, so the asyncpg lane
compiles them all when it starts (a broken one fails at start-up) and a test compiles every
one on each dialect it is meant for.

A query also says how its rows are read: `into` is called with a row's values in the
statement's column order, after the column types' result processors, and makes the
repository's value of it (an engine dataclass, say). When `into` names its parameters (a
dataclass's fields, a function's arguments), they must be the columns' names in that order;
that is checked here, at import.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, overload

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

T = TypeVar("T")
Params = Mapping[str, Any]
Row = tuple[Any, ...]
EMPTY: Params = {}

BOTH = frozenset({"postgresql", "sqlite"})
POSTGRESQL = frozenset({"postgresql"})

_REGISTERED: list[Query[Any]] = []


class Query(Generic[T]):
    """One statement and the reading of its rows; identity is its cache key."""

    __slots__ = ("_sql", "columns", "dialects", "into", "statement")

    @overload
    def __init__(
        self: Query[Row],
        statement: Executable,
        into: None = None,
        *,
        dialects: frozenset[str] = BOTH,
    ) -> None: ...

    @overload
    def __init__(
        self: Query[T],
        statement: Executable,
        into: Callable[..., T],
        *,
        dialects: frozenset[str] = BOTH,
    ) -> None: ...

    def __init__(
        self,
        statement: Executable,
        into: Callable[..., Any] | None = None,
        *,
        dialects: frozenset[str] = BOTH,
    ) -> None:
        self.statement = statement
        self.into = into
        self.dialects = dialects
        exported = getattr(statement, "exported_columns", None)
        self.columns: tuple[str, ...] = tuple(exported.keys()) if exported is not None else ()
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"columns of the same name: {self.columns}")
        if into is not None:
            _check_into(into, self.columns)
        self._sql: dict[str, str] = {}
        _REGISTERED.append(self)

    @property
    def returns_rows(self) -> bool:
        return bool(self.columns)

    def read(self, values: Any) -> T:
        """A row's values (in column order, processed) as this query's value."""
        return self.into(*values) if self.into is not None else tuple(values)  # type: ignore[return-value]

    def sql(self, dialect: Dialect) -> str:
        """The SQL text for `dialect` (for statement hooks), compiled once."""
        found = self._sql.get(dialect.name)
        if found is None:
            found = self._sql[dialect.name] = self.statement.compile(dialect=dialect).string  # type: ignore[attr-defined]
        return found

    def __repr__(self) -> str:
        first_line = str(self.statement).split("\n", 1)[0]
        return f"<Query {first_line[:80]}>"


def registered() -> tuple[Query[Any], ...]:
    """Every query built so far (the repositories' modules build theirs at import)."""
    return tuple(_REGISTERED)


def _check_into(into: Callable[..., Any], columns: tuple[str, ...]) -> None:
    if dataclasses.is_dataclass(into):
        names = tuple(field.name for field in dataclasses.fields(into) if field.init)
    else:
        parameters = inspect.signature(into).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
            return  # takes the values as they come
        names = tuple(p.name for p in parameters)
    if names != columns:
        raise TypeError(f"{into.__qualname__} takes {names}, the statement returns {columns}")
