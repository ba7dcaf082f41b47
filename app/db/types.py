"""Column types that behave the same on PostgreSQL and SQLite, on either lane."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite stores naive UTC text that sorts correctly."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # asyncpg's are UTC already
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONDocument(TypeDecorator[Any]):
    """JSON holding an array or an object, decoded by the column type itself.

    SQLAlchemy's asyncpg dialect decodes JSON in a codec it installs on each connection; the
    asyncpg lane's connections keep asyncpg's own (JSON as text, no introspection query per
    new connection), so the text is decoded here. Through SQLAlchemy the value arrives
    decoded already and is left as it is."""

    impl = JSON
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return orjson.loads(value) if isinstance(value, str | bytes) else value


class HexDigest(TypeDecorator[str]):
    """A digest or random id that the code spells in lowercase hex (`hash_secret`,
    `new_family_id`), stored as its bytes: half the width in the row and in every index
    that holds it (the token table's two hash indexes are its largest, and each refresh
    writes to both at random places). `bytes.fromhex` in, `.hex()` out."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else bytes.fromhex(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        return None if value is None else bytes(value).hex()
