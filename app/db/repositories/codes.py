"""Authorization codes (RFC 6749 §4.1.2), stored hashed and marked `used_at` when redeemed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.engine import RowMapping

from app.db.models import AuthorizationCode
from app.db.repositories import Repository


class CodeRepository(Repository):
    async def create(
        self,
        *,
        code_hash: str,
        client_pk: int,
        user_id: int,
        scope: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        await self.conn.execute(
            insert(AuthorizationCode).values(
                code_hash=code_hash,
                client_id=client_pk,
                user_id=user_id,
                scope=scope,
                redirect_uri=redirect_uri,
                code_challenge=code_challenge,
                code_challenge_method=code_challenge_method,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def redeem(self, code_hash: str, now: datetime) -> RowMapping | None:
        """Spend the code: one UPDATE ... RETURNING that only an unused code passes.

        The database decides who wins: of concurrent redemptions exactly one gets the row
        (PostgreSQL re-checks `used_at IS NULL` after waiting on the row lock; SQLite takes
        one writer at a time). None: unknown or already used. The code is spent whatever
        the caller finds wrong with it afterwards (expired, other client, failed PKCE).
        """
        result = await self.conn.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == code_hash, AuthorizationCode.used_at.is_(None))
            .values(used_at=now)
            .returning(
                AuthorizationCode.id,
                AuthorizationCode.client_id.label("client_pk"),
                AuthorizationCode.user_id,
                AuthorizationCode.scope,
                AuthorizationCode.redirect_uri,
                AuthorizationCode.code_challenge,
                AuthorizationCode.code_challenge_method,
                AuthorizationCode.expires_at,
            )
        )
        return result.mappings().first()
