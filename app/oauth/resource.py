"""Validating an OAuth2 access token at a protected resource (RFC 6750): one indexed query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import RowMapping

from app.db.engine import Database
from app.oauth.errors import InvalidToken
from app.oauth.secrets import hash_secret


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """Who an access token speaks for, for which client, with which scopes."""

    user_id: int
    client_pk: int
    scope: frozenset[str]
    user: RowMapping


async def validate_access_token(db: Database, token: str, now: datetime) -> AccessGrant:
    """The grant behind a live access token; InvalidToken if unknown, revoked or expired."""
    if len(token) > 256:
        raise InvalidToken
    async with db.hot() as storage:
        row = await storage.tokens.access_with_user(hash_secret(token))
    if row is None or row["revoked_at"] is not None or row["access_expires_at"] <= now:
        raise InvalidToken
    return AccessGrant(
        user_id=row["id"],
        client_pk=row["client_pk"],
        scope=frozenset(row["scope"].split()),
        user=row,
    )
