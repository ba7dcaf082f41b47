"""Repositories: the only code that builds SQL. Each takes the connection it works on."""

from __future__ import annotations

from typing import TypeAlias

from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.direct import DirectConnection

# SQLAlchemy's, or the hot lane's on PostgreSQL (prebuilt statements only; `app.db.direct`).
Connection: TypeAlias = AsyncConnection | DirectConnection


class Repository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
