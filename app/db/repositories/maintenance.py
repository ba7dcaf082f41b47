"""Housekeeping queries for the command-line tool: counts, and deleting what is dead.

What may go, and what must stay:
- a code is deleted once it has expired: a used code is kept until then so that a replay is
  still recognised and answered by revoking what the code issued (RFC 6749 §4.1.2);
- a token pair is deleted once both its tokens have expired, or once it is revoked and its
  whole family is dead. A revoked pair of a family that still has a live pair is kept: it is
  what recognises a reused refresh token and revokes that family (RFC 9700 §4.14.2);
- a logged-out user JWT's record is deleted once the JWT would have expired anyway.

`before` is the cut-off: only what expired or was revoked before it goes (the command's
`--days` moves it back from now).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.db.models import AuthorizationCode, OAuth2Client, RevokedUserToken, Token, User
from app.db.repositories import Repository


@dataclass(frozen=True, slots=True)
class Cleanup:
    codes: int
    tokens: int
    revoked_user_tokens: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Stats:
    users: int
    active_users: int
    clients: int
    tokens_live: int
    tokens_expired: int
    tokens_revoked: int
    codes_live: int
    codes_used: int
    codes_expired: int
    revoked_user_tokens: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _dead_code(before: datetime) -> ColumnElement[bool]:
    return AuthorizationCode.expires_at < before


def _dead_token(before: datetime) -> ColumnElement[bool]:
    sibling = aliased(Token)
    live_sibling = exists().where(
        sibling.family_id == Token.family_id,
        sibling.revoked_at.is_(None),
        or_(sibling.access_expires_at >= before, sibling.refresh_expires_at >= before),
    )
    expired = and_(Token.access_expires_at < before, Token.refresh_expires_at < before)
    revoked = and_(Token.revoked_at.is_not(None), Token.revoked_at < before, ~live_sibling)
    return or_(expired, revoked)


def _dead_user_token(before: datetime) -> ColumnElement[bool]:
    return RevokedUserToken.expires_at < before


class MaintenanceRepository(Repository):
    async def count_removable(self, before: datetime) -> Cleanup:
        """What `delete_removable(before)` would delete, without deleting it."""
        return Cleanup(
            codes=await self._count(AuthorizationCode, _dead_code(before)),
            tokens=await self._count(Token, _dead_token(before)),
            revoked_user_tokens=await self._count(RevokedUserToken, _dead_user_token(before)),
        )

    async def delete_removable(self, before: datetime) -> Cleanup:
        """Delete them; run it in one transaction so the counts are all or nothing."""
        tokens = await self.conn.execute(delete(Token).where(_dead_token(before)))
        codes = await self.conn.execute(delete(AuthorizationCode).where(_dead_code(before)))
        user_tokens = await self.conn.execute(
            delete(RevokedUserToken).where(_dead_user_token(before))
        )
        return Cleanup(
            codes=codes.rowcount, tokens=tokens.rowcount, revoked_user_tokens=user_tokens.rowcount
        )

    async def stats(self, now: datetime) -> Stats:
        """Counts by state, one aggregate query per table."""
        users = (
            await self.conn.execute(select(func.count(), _sum(User.is_active.is_(True))))
        ).one()
        revoked = Token.revoked_at.is_not(None)
        expired = and_(Token.access_expires_at < now, Token.refresh_expires_at < now)
        tokens = (
            await self.conn.execute(
                select(
                    _sum(and_(~revoked, ~expired)),
                    _sum(and_(~revoked, expired)),
                    _sum(revoked),
                )
            )
        ).one()
        used = AuthorizationCode.used_at.is_not(None)
        code_expired = AuthorizationCode.expires_at < now
        codes = (
            await self.conn.execute(
                select(
                    _sum(and_(~used, ~code_expired)),
                    _sum(used),
                    _sum(and_(~used, code_expired)),
                )
            )
        ).one()
        return Stats(
            users=users[0],
            active_users=users[1],
            clients=await self._count(OAuth2Client),
            tokens_live=tokens[0],
            tokens_expired=tokens[1],
            tokens_revoked=tokens[2],
            codes_live=codes[0],
            codes_used=codes[1],
            codes_expired=codes[2],
            revoked_user_tokens=await self._count(RevokedUserToken),
        )

    async def _count(self, table: Any, where: ColumnElement[bool] | None = None) -> int:
        query = select(func.count()).select_from(table)
        if where is not None:
            query = query.where(where)
        return await self.conn.scalar(query) or 0


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows meet `condition` (0, not NULL, on an empty table)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
