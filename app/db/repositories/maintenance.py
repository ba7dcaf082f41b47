"""Housekeeping queries for the command-line tool: counts, and deleting what is dead.

What may go, and what must stay:
- a code is deleted once it has expired: a used code is kept until then so that a replay is
  still recognised and answered by revoking what the code issued (RFC 6749 §4.1.2);
- a token pair is deleted once both its tokens have expired, whatever else: an expired
  refresh token is refused before reuse detection is asked (RFC 9700 §4.14.2), so a rotated
  pair is worth keeping only until then. A session's rows are thus bounded by time, not by
  how often it refreshed: its live pair plus the pairs it rotated within one refresh-token
  lifetime;
- a revoked pair is deleted sooner once its whole family is dead (its newest pair, the only
  one that can be live, is revoked or expired): nothing is left for reuse detection to
  revoke;
- a logged-out user JWT's record is deleted once the JWT would have expired anyway.

`before` is the cut-off: only what expired or was revoked before it goes (the command's
`--days` moves it back from now).

Deleting goes in bounded batches, each its own short statement (autocommit), so that the
server keeps serving while millions of rows go, and an interrupted clean loses at most its
current batch: token pairs by ranges of `id` (the table has no index on the expiry times,
which every rotation would pay for), codes and user-token records by their `expires_at`
index, `batch` rows at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, delete, exists, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.db.executor import Executor
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
class Progress:
    """Where a clean is, after one batch: of `table`, `done` of `total` (ids walked for the
    token pairs; rows deleted for the others, whose total is 0, unknown, until the last
    batch), `deleted` so far. `done == total` on a table's last batch."""

    table: str
    done: int
    total: int
    deleted: int


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
    expired = and_(Token.access_expires_at < BEFORE, Token.refresh_expires_at < BEFORE)
    newest = aliased(Token, name="newest")
    newest_id = (
        select(newest.id)
        .where(newest.user_id == Token.user_id, newest.family_id == Token.family_id)
        .order_by(newest.id.desc())
        .limit(1)
        .correlate_except(newest)  # to the row being judged, two levels up
        .scalar_subquery()
    )
    sibling = aliased(Token, name="sibling")
    family_lives = exists().where(
        sibling.id == newest_id,
        sibling.revoked_at.is_(None),
        or_(sibling.access_expires_at >= BEFORE, sibling.refresh_expires_at >= BEFORE),
    )
    revoked = and_(Token.revoked_at.is_not(None), Token.revoked_at < BEFORE, ~family_lives)
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
LOW = bindparam("low", type_=Integer)
HIGH = bindparam("high", type_=Integer)
BATCH = bindparam("batch", type_=Integer)
TOKEN_IDS = Query(select(func.min(Token.id), func.max(Token.id)))
DELETE_DEAD_TOKENS = Query(delete(Token).where(Token.id >= LOW, Token.id < HIGH, _dead_token()))
DELETE_DEAD_CODES = Query(
    delete(AuthorizationCode).where(
        AuthorizationCode.id.in_(select(AuthorizationCode.id).where(_dead_code()).limit(BATCH))
    )
)
DELETE_DEAD_USER_TOKENS = Query(
    delete(RevokedUserToken).where(
        RevokedUserToken.jti.in_(
            select(RevokedUserToken.jti).where(_dead_user_token()).limit(BATCH)
        )
    )
)
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

    async def delete_removable(
        self,
        *,
        before: datetime,
        batch: int = 10_000,
        rest: float = 3.0,
        progress: Callable[[Progress], None] | None = None,
    ) -> Cleanup:
        """Delete them in batches of about `batch` rows, each one statement committed on
        its own, resting `rest` times as long as a batch took before the next one, so that
        a clean leaves the database to the server most of the time (`bench/
        clean_under_load.py`, 2.6 million rows: W3's p99 2.03x its baseline with 0 or 1,
        1.51x with 3); `progress` hears of each batch. Interrupted,
        what was deleted stays deleted and a new run goes on from there: a batch deletes
        only what is dead at its time."""
        report = progress or (lambda _: None)
        async with self._db.connection() as conn:
            run = _Batches(conn, before, batch, rest, report)
            tokens = await run.token_ranges()
            codes = await run.until_none_left(DELETE_DEAD_CODES, "oauth2_codes")
            user_tokens = await run.until_none_left(DELETE_DEAD_USER_TOKENS, "revoked_user_tokens")
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


class _Batches:
    """The batched deletes of one clean, on one connection."""

    def __init__(
        self,
        conn: Executor,
        before: datetime,
        batch: int,
        rest: float,
        report: Callable[[Progress], None],
    ) -> None:
        self._conn, self._before, self._batch = conn, before, batch
        self._rest, self._report = rest, report

    async def _delete(self, query: Query[Any], params: dict[str, Any]) -> int:
        started = time.monotonic()
        count = await self._conn.rowcount(query, {**params, "before": self._before})
        if self._rest > 0:
            await asyncio.sleep((time.monotonic() - started) * self._rest)
        return count

    async def token_ranges(self) -> int:
        """The token table by ranges of `batch` ids, from the oldest: each range a short
        statement over the primary key, however many of its rows are dead."""
        span = await self._conn.first(TOKEN_IDS)
        if span is None or span[0] is None:
            return 0
        first, last = span
        deleted = 0
        for low in range(first, last + 1, self._batch):
            high = min(low + self._batch, last + 1)
            deleted += await self._delete(DELETE_DEAD_TOKENS, {"low": low, "high": high})
            self._report(Progress("oauth2_tokens", high - first, last + 1 - first, deleted))
        return deleted

    async def until_none_left(self, query: Query[Any], table: str) -> int:
        """`batch` dead rows at a time, found by the expiry index, until a batch comes
        short."""
        deleted = 0
        while True:
            count = await self._delete(query, {"batch": self._batch})
            deleted += count
            if count < self._batch:
                self._report(Progress(table, deleted, deleted, deleted))
                return deleted
            self._report(Progress(table, deleted, 0, deleted))
