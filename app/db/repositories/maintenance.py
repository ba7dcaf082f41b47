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

from sqlalchemy import and_, bindparam, case, delete, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.db.models import AuthorizationCode, OAuth2Client, RevokedUserToken, Token, User
from app.db.queries import Query
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


BEFORE = bindparam("before", type_=Token.issued_at.type)
NOW = bindparam("now", type_=Token.issued_at.type)


def _dead_code() -> ColumnElement[bool]:
    return AuthorizationCode.expires_at < BEFORE


def _dead_token() -> ColumnElement[bool]:
    sibling = aliased(Token)
    live_sibling = exists().where(
        sibling.family_id == Token.family_id,
        sibling.revoked_at.is_(None),
        or_(sibling.access_expires_at >= BEFORE, sibling.refresh_expires_at >= BEFORE),
    )
    expired = and_(Token.access_expires_at < BEFORE, Token.refresh_expires_at < BEFORE)
    revoked = and_(Token.revoked_at.is_not(None), Token.revoked_at < BEFORE, ~live_sibling)
    return or_(expired, revoked)


def _dead_user_token() -> ColumnElement[bool]:
    return RevokedUserToken.expires_at < BEFORE


def _count(table: Any, where: ColumnElement[bool] | None = None) -> Query[Any]:
    query = select(func.count()).select_from(table)
    return Query(query if where is None else query.where(where))


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows meet `condition` (0, not NULL, on an empty table)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


COUNT_DEAD_CODES = _count(AuthorizationCode, _dead_code())
COUNT_DEAD_TOKENS = _count(Token, _dead_token())
COUNT_DEAD_USER_TOKENS = _count(RevokedUserToken, _dead_user_token())
DELETE_DEAD_TOKENS = Query(delete(Token).where(_dead_token()))
DELETE_DEAD_CODES = Query(delete(AuthorizationCode).where(_dead_code()))
DELETE_DEAD_USER_TOKENS = Query(delete(RevokedUserToken).where(_dead_user_token()))
COUNT_CLIENTS = _count(OAuth2Client)
COUNT_REVOKED_USER_TOKENS = _count(RevokedUserToken)
USER_COUNTS = Query(select(func.count(), _sum(User.is_active.is_(True))))
_revoked = Token.revoked_at.is_not(None)
_expired = and_(Token.access_expires_at < NOW, Token.refresh_expires_at < NOW)
TOKEN_COUNTS = Query(
    select(_sum(and_(~_revoked, ~_expired)), _sum(and_(~_revoked, _expired)), _sum(_revoked))
)
_used = AuthorizationCode.used_at.is_not(None)
_code_expired = AuthorizationCode.expires_at < NOW
CODE_COUNTS = Query(
    select(_sum(and_(~_used, ~_code_expired)), _sum(_used), _sum(and_(~_used, _code_expired)))
)


class MaintenanceRepository(Repository):
    async def count_removable(self, *, before: datetime) -> Cleanup:
        """What `delete_removable(before)` would delete, without deleting it."""
        params = {"before": before}
        async with self._db.connection() as conn:
            return Cleanup(
                codes=await conn.scalar(COUNT_DEAD_CODES, params) or 0,
                tokens=await conn.scalar(COUNT_DEAD_TOKENS, params) or 0,
                revoked_user_tokens=await conn.scalar(COUNT_DEAD_USER_TOKENS, params) or 0,
            )

    async def delete_removable(self, *, before: datetime) -> Cleanup:
        """Delete them, in one transaction, so the counts are all or nothing."""
        params = {"before": before}
        async with self._db.transaction() as tx:
            tokens = await tx.rowcount(DELETE_DEAD_TOKENS, params)
            codes = await tx.rowcount(DELETE_DEAD_CODES, params)
            user_tokens = await tx.rowcount(DELETE_DEAD_USER_TOKENS, params)
        return Cleanup(codes=codes, tokens=tokens, revoked_user_tokens=user_tokens)

    async def stats(self, *, now: datetime) -> Stats:
        """Counts by state, one aggregate query per table."""
        params = {"now": now}
        async with self._db.connection() as conn:
            users = await conn.first(USER_COUNTS)
            tokens = await conn.first(TOKEN_COUNTS, params)
            codes = await conn.first(CODE_COUNTS, params)
            clients = await conn.scalar(COUNT_CLIENTS)
            revoked_user_tokens = await conn.scalar(COUNT_REVOKED_USER_TOKENS)
        assert users is not None and tokens is not None and codes is not None  # aggregates
        return Stats(
            users=users[0],
            active_users=users[1],
            clients=clients or 0,
            tokens_live=tokens[0],
            tokens_expired=tokens[1],
            tokens_revoked=tokens[2],
            codes_live=codes[0],
            codes_used=codes[1],
            codes_expired=codes[2],
            revoked_user_tokens=revoked_user_tokens or 0,
        )
