"""Access/refresh token pairs, stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping

from app.db.models import Token, User
from app.db.repositories import Repository
from app.db.repositories.users import PROFILE_COLUMNS


class TokenRepository(Repository):
    async def access_with_user(self, access_token_hash: str) -> RowMapping | None:
        """A token and its active user's profile, by access-token hash: one indexed query."""
        result = await self.conn.execute(
            select(
                *PROFILE_COLUMNS,
                Token.client_id.label("client_pk"),
                Token.scope,
                Token.access_expires_at,
                Token.revoked_at,
            )
            .join(User, User.id == Token.user_id)
            .where(Token.access_token_hash == access_token_hash, User.is_active.is_(True))
        )
        return result.mappings().first()

    async def revoke_for_client(self, client_pk: int, now: datetime) -> int:
        """Revoke every live token of a client (by its integer primary key)."""
        result = await self.conn.execute(
            update(Token)
            .where(Token.client_id == client_pk, Token.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount
