"""Access/refresh token pairs, stored hashed: one row per pair, revoked together.

`TokenRepository` is the engine's `TokenStore` (`app.oauth.ports`). Each method is one unit
of work: on PostgreSQL a code exchange and a refresh are one statement each (data-modifying
CTEs, atomic in autocommit); on SQLite, and for a refresh that narrows the scope, they are a
transaction of the steps below (`spend_refresh`, `store_pair`, `codes.redeem`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Insert,
    Integer,
    ScalarSelect,
    Select,
    Update,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.accounts.profile import UserProfile
from app.db.executor import Executor
from app.db.models import AuthorizationCode, OAuth2Client, Token, User
from app.db.queries import POSTGRESQL, Query
from app.db.repositories import Repository
from app.db.repositories.clients import held_for_grant
from app.db.repositories.codes import REDEEM, redeem
from app.db.repositories.users import PROFILE_COLUMNS
from app.oauth.ports import AccessToken, IntrospectedToken, NewPair, SpentCode


def _access_token(*values: Any) -> AccessToken:
    profile = len(PROFILE_COLUMNS)
    client_pk, scope, expires_at, revoked_at = values[profile:]
    return AccessToken(
        user=UserProfile(*values[:profile]),
        client_pk=client_pk,
        scope=scope,
        expires_at=expires_at,
        revoked_at=revoked_at,
    )


def _issued_to(token: Any) -> ColumnElement[bool]:
    """`client_id = :client_pk` as a filter on the row a token's hash found, never as the
    way to find it. On a new, small or never-analyzed table PostgreSQL's planner costs the
    (client_id, user_id) index as cheap as the hash's unique one and may take it; a
    prepared statement keeps that plan for the connection's life, and each refresh then
    reads every token of its client (seen: ~950 rows per refresh after 20 s of W3 on a
    fresh database). `client_id + 0` is no indexed column, so the hash's index is the only
    way in (SQLite's documented idiom for the same, a unary `+`, works likewise)."""
    return token.client_id + literal_column("0", Integer) == bindparam("client_pk")


def _holding_the_hash() -> ColumnElement[bool]:
    """The pair whose access or refresh token hashes to `:hash`: `id =` the one found in
    the access hash's unique index, else in the refresh hash's (uncorrelated subqueries,
    run once, then one primary-key lookup). Written as `access = :hash OR refresh =
    :hash`, the planner finds a sequential scan cheaper on a small table, and a prepared
    statement may keep that plan as the table grows."""
    by_access, by_refresh = aliased(Token, name="by_access"), aliased(Token, name="by_refresh")
    return Token.id == func.coalesce(
        select(by_access.id)
        .where(by_access.access_token_hash == bindparam("hash"))
        .scalar_subquery(),
        select(by_refresh.id)
        .where(by_refresh.refresh_token_hash == bindparam("hash"))
        .scalar_subquery(),
    )


ACCESS_WITH_USER = Query(
    select(
        *PROFILE_COLUMNS,
        Token.client_id.label("client_pk"),
        Token.scope,
        Token.access_expires_at,
        Token.revoked_at,
    )
    .join(User, User.id == Token.user_id)
    .where(Token.access_token_hash == bindparam("hash"), User.is_active.is_(True)),
    _access_token,
)
# One statement over both unique indexes; `is_access` says which one the hash matched.
FOR_INTROSPECTION = Query(
    select(
        (Token.access_token_hash == bindparam("hash")).label("is_access"),
        Token.client_id.label("client_pk"),
        OAuth2Client.client_id,
        Token.user_id,
        User.username,
        User.is_active.label("user_is_active"),
        Token.scope,
        Token.issued_at,
        Token.access_expires_at,
        Token.refresh_expires_at,
        Token.revoked_at,
    )
    .join(OAuth2Client, OAuth2Client.id == Token.client_id)
    .join(User, User.id == Token.user_id)
    .where(
        _holding_the_hash(),
    ),
    IntrospectedToken,
)
PAIR_COLUMNS = [
    "access_token_hash",
    "refresh_token_hash",
    "client_id",
    "user_id",
    "family_id",
    "scope",
    "issued_at",
    "access_expires_at",
    "refresh_expires_at",
]
CREATE = Query(insert(Token).values({name: bindparam(f"p_{name}") for name in PAIR_COLUMNS}))
SPEND_REFRESH = (
    update(Token)
    .where(
        Token.refresh_token_hash == bindparam("hash"),
        _issued_to(Token),
        Token.rotated_at.is_(None),
        Token.revoked_at.is_(None),
        Token.refresh_expires_at > bindparam("p_now"),
        held_for_grant(bindparam("client_pk")),
    )
    .values(rotated_at=bindparam("p_now"), revoked_at=bindparam("p_now"))
)


@dataclass(frozen=True, slots=True)
class SpentRefresh:
    """What a rotated pair passes on to its successor."""

    user_id: int
    family_id: str
    scope: str


ROTATE = Query(
    SPEND_REFRESH.returning(Token.user_id, Token.family_id, Token.scope),
    SpentRefresh,
)


def _pair_from(client_id: Any, user_id: Any, family_id: Any, scope: Any) -> Select:
    """The row of a new pair for an INSERT ... SELECT: hashes and times are bind parameters
    (`p_<column>`), the rest comes from the given columns (of a CTE's row)."""
    return select(
        bindparam("p_access_token_hash", type_=Token.access_token_hash.type),
        bindparam("p_refresh_token_hash", type_=Token.refresh_token_hash.type),
        client_id,
        user_id,
        family_id,
        scope,
        bindparam("p_issued_at", type_=Token.issued_at.type),
        bindparam("p_access_expires_at", type_=Token.access_expires_at.type),
        bindparam("p_refresh_expires_at", type_=Token.refresh_expires_at.type),
    )


def _rotate_and_issue() -> Insert:
    """PostgreSQL: ROTATE and the successor's INSERT as one statement (a data-modifying CTE),
    atomic without a transaction around it."""
    spent = SPEND_REFRESH.returning(
        Token.client_id, Token.user_id, Token.family_id, Token.scope
    ).cte("spent")
    c = spent.c
    successor = _pair_from(c.client_id, c.user_id, c.family_id, c.scope)
    return insert(Token).from_select(PAIR_COLUMNS, successor).returning(Token.scope).add_cte(spent)


def _redeem_and_issue() -> Select:
    """PostgreSQL: spend a code (codes.REDEEM) and store a pair for it, as one statement; the
    spent code's row is the result."""
    spent = REDEEM.statement.cte("spent")  # type: ignore[attr-defined]
    c = spent.c
    family = bindparam("p_family_id", type_=Token.family_id.type)
    pair = _pair_from(c.client_pk, c.user_id, family, c.scope).where(
        c.client_pk == bindparam("client_pk")  # only for the client locked first
    )
    issued = insert(Token).from_select(PAIR_COLUMNS, pair).cte("issued")
    return select(spent).add_cte(issued)


ROTATE_AND_ISSUE = Query(_rotate_and_issue(), dialects=POSTGRESQL)
REDEEM_AND_ISSUE = Query(_redeem_and_issue(), SpentCode, dialects=POSTGRESQL)
WITHDRAW = Query(
    delete(Token).where(
        Token.user_id == bindparam("user_id"), Token.family_id == bindparam("family_id")
    )
)


def _revoke_newest_of_family(user_id: ScalarSelect[Any], family_id: ScalarSelect[Any]) -> Update:
    """Revoke the family's newest pair if it is live: the only one that can be (a rotation
    revokes the pair it spends as it inserts the successor, `models.Token`). The newest is
    one descent of the (user_id, family_id, id) index, so this costs the same for a family
    rotated 10 000 times as for a new one; `user_id` and `family_id` are uncorrelated
    subqueries (run once, before the scan)."""
    sibling = aliased(Token, name="sibling")
    newest = (
        select(sibling.id)
        .where(sibling.user_id == user_id, sibling.family_id == family_id)
        .order_by(sibling.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        update(Token)
        .where(Token.id == newest, Token.revoked_at.is_(None))
        .values(revoked_at=bindparam("p_now"))
    )


def _of_spent_code(column: Any) -> ScalarSelect[Any]:
    return (
        select(column)
        .where(
            AuthorizationCode.code_hash == bindparam("code_hash"),
            AuthorizationCode.used_at.is_not(None),
        )
        .scalar_subquery()
    )


_reused = aliased(Token, name="reused")


def _of_rotated(column: Any) -> ScalarSelect[Any]:
    return (
        select(column)
        .where(
            _reused.refresh_token_hash == bindparam("hash"),
            _issued_to(_reused),
            _reused.rotated_at.is_not(None),
        )
        .scalar_subquery()
    )


REVOKE_ISSUED_FROM_CODE = Query(
    _revoke_newest_of_family(
        _of_spent_code(AuthorizationCode.user_id), _of_spent_code(AuthorizationCode.family_id)
    )
)
REVOKE_FAMILY_OF_ROTATED = Query(
    _revoke_newest_of_family(_of_rotated(_reused.user_id), _of_rotated(_reused.family_id))
)
REVOKE = Query(
    update(Token)
    .where(
        _holding_the_hash(),
        _issued_to(Token),
        Token.revoked_at.is_(None),
    )
    .values(revoked_at=bindparam("p_now"))
)


def _new_pair(pair: NewPair) -> dict[str, Any]:
    return {
        "p_access_token_hash": pair.access_token_hash,
        "p_refresh_token_hash": pair.refresh_token_hash,
        "p_issued_at": pair.issued_at,
        "p_access_expires_at": pair.access_expires_at,
        "p_refresh_expires_at": pair.refresh_expires_at,
    }


async def spend_refresh(
    ex: Executor, *, refresh_token_hash: str, client_pk: int, now: datetime
) -> SpentRefresh | None:
    """A step of `rotate_and_issue`: mark a live refresh token of this client rotated and
    revoked (one UPDATE ... RETURNING that one of concurrent rotations wins)."""
    params = {"hash": refresh_token_hash, "client_pk": client_pk, "p_now": now}
    return await ex.first(ROTATE, params)


async def store_pair(
    ex: Executor,
    *,
    pair: NewPair,
    client_pk: int,
    user_id: int,
    family_id: str,
    scope: str,
) -> None:
    """A step of a unit of work: INSERT a new pair."""
    params = {
        **_new_pair(pair),
        "p_client_id": client_pk,
        "p_user_id": user_id,
        "p_family_id": family_id,
        "p_scope": scope,
    }
    await ex.rowcount(CREATE, params)


class TokenRepository(Repository):
    async def access_with_user(self, *, access_token_hash: str) -> AccessToken | None:
        """A token and its active user's profile, by access-token hash: one indexed query."""
        return await self._db.first(ACCESS_WITH_USER, {"hash": access_token_hash})

    async def for_introspection(self, *, token_hash: str) -> IntrospectedToken | None:
        """RFC 7662 §2.2: the pair holding this access or refresh token, with its client's
        string client_id and its user's name: one statement over both unique indexes."""
        return await self._db.first(FOR_INTROSPECTION, {"hash": token_hash})

    async def redeem_code_and_issue(
        self, *, code_hash: str, client_pk: int, now: datetime, family_id: str, pair: NewPair
    ) -> SpentCode | None:
        """Spend the code and store `pair` for it (`app.oauth.ports.TokenStore`).

        PostgreSQL: one statement (REDEEM_AND_ISSUE), atomic in autocommit; the spent code's
        row stays locked until the pair is committed with it, so a concurrent replay, which
        waits for that lock, always finds the pair to revoke. SQLite: REDEEM then the INSERT
        in one transaction (one writer at a time).
        """
        if self._db.single_statement_writes:
            params = {
                **_new_pair(pair),
                "p_family_id": family_id,
                "p_code_hash": code_hash,
                "client_pk": client_pk,
                "p_now": now,
            }
            return await self._db.first(REDEEM_AND_ISSUE, params)
        async with self._db.transaction() as tx:
            spent = await redeem(
                tx, code_hash=code_hash, client_pk=client_pk, now=now, family_id=family_id
            )
            if spent is not None and spent.client_pk == client_pk:
                await store_pair(
                    tx,
                    pair=pair,
                    client_pk=client_pk,
                    user_id=spent.user_id,
                    family_id=family_id,
                    scope=spent.scope,
                )
            return spent

    async def withdraw(self, *, user_id: int, family_id: str) -> None:
        """Delete the pair `redeem_code_and_issue` stored for a code that failed its checks."""
        await self._db.rowcount(WITHDRAW, {"user_id": user_id, "family_id": family_id})

    async def revoke_issued_from_code(self, *, code_hash: str, now: datetime) -> int:
        """RFC 6749 §4.1.2: every live token issued from a spent code, rotations included
        (the code keeps their family). One statement, whatever the family's length."""
        return await self._db.rowcount(
            REVOKE_ISSUED_FROM_CODE, {"code_hash": code_hash, "p_now": now}
        )

    async def rotate_and_issue(
        self,
        *,
        refresh_token_hash: str,
        client_pk: int,
        now: datetime,
        successor: NewPair,
        scope: Callable[[str], str] | None = None,
    ) -> str | None:
        """Spend a live refresh token and store its successor (`app.oauth.ports.TokenStore`).

        Without `scope`, on PostgreSQL: ONE statement (ROTATE_AND_ISSUE), atomic in
        autocommit. Otherwise `spend_refresh`, `scope`, then `store_pair` in a transaction,
        which whatever `scope` raises rolls back.
        """
        if scope is None and self._db.single_statement_writes:
            params = {
                **_new_pair(successor),
                "hash": refresh_token_hash,
                "client_pk": client_pk,
                "p_now": now,
            }
            return await self._db.scalar(ROTATE_AND_ISSUE, params)
        async with self._db.transaction() as tx:
            spent = await spend_refresh(
                tx, refresh_token_hash=refresh_token_hash, client_pk=client_pk, now=now
            )
            if spent is None:
                return None
            granted = spent.scope if scope is None else scope(spent.scope)
            await store_pair(
                tx,
                pair=successor,
                client_pk=client_pk,
                user_id=spent.user_id,
                family_id=spent.family_id,
                scope=granted,
            )
            return granted

    async def revoke_family(self, *, refresh_token_hash: str, client_pk: int, now: datetime) -> int:
        """RFC 9700 §4.14.2: revoke the live tokens of a reused refresh token's family. One
        statement, whatever the family's length; 0 when the hash is not a rotated refresh
        token of this client."""
        params = {"hash": refresh_token_hash, "client_pk": client_pk, "p_now": now}
        return await self._db.rowcount(REVOKE_FAMILY_OF_ROTATED, params)

    async def revoke(self, *, token_hash: str, client_pk: int, now: datetime) -> int:
        """RFC 7009 §2.1: revoke the pair holding this access or refresh token, if it belongs
        to this client. One statement over both unique indexes, whatever the hint said."""
        params = {"hash": token_hash, "client_pk": client_pk, "p_now": now}
        return await self._db.rowcount(REVOKE, params)
