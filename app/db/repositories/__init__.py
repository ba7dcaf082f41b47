"""Repositories: the only code that builds SQL. Each takes the connection it works on."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


class Repository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
