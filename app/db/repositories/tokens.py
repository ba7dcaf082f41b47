"""Access/refresh token pairs, stored hashed: one row per pair, revoked together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import RowMapping

from app.db.direct import prebuilt
from app.db.models import AuthorizationCode, OAuth2Client, Token, User
from app.db.repositories import Repository
from app.db.repositories.clients import held_for_grant
from app.db.repositories.codes import REDEEM, CodeRepository
from app.db.repositories.users import PROFILE_COLUMNS

# Built once: on the hot paths, building a statement costs more than running it.
ACCESS_WITH_USER = prebuilt(
    select(
        *PROFILE_COLUMNS,
        Token.client_id.label("client_pk"),
        Token.scope,
        Token.access_expires_at,
        Token.revoked_at,
    )
    .join(User, User.id == Token.user_id)
    .where(Token.access_token_hash == bindparam("hash"), User.is_active.is_(True))
)

CREATE = prebuilt(insert(Token))
SPEND_REFRESH = (
    update(Token)
    .where(
        Token.refresh_token_hash == bindparam("hash"),
        Token.client_id == bindparam("client_pk"),
        Token.rotated_at.is_(None),
        Token.revoked_at.is_(None),
        Token.refresh_expires_at > bindparam("p_now"),
        held_for_grant(bindparam("client_pk")),
    )
    .values(rotated_at=bindparam("p_now"), revoked_at=bindparam("p_now"))
)
ROTATE = SPEND_REFRESH.returning(Token.user_id, Token.code_id, Token.family_id, Token.scope)


def _pair_from(client_id: Any, user_id: Any, code_id: Any, family_id: Any, scope: Any) -> Select:
    """The row of a new pair for an INSERT ... SELECT: hashes and times are bind parameters
    (`p_<column>`), the rest comes from the given columns (of a CTE's row)."""
    return select(
        bindparam("p_access_token_hash", type_=Token.access_token_hash.type),
        bindparam("p_refresh_token_hash", type_=Token.refresh_token_hash.type),
        client_id,
        user_id,
        code_id,
        family_id,
        scope,
        bindparam("p_issued_at", type_=Token.issued_at.type),
        bindparam("p_access_expires_at", type_=Token.access_expires_at.type),
        bindparam("p_refresh_expires_at", type_=Token.refresh_expires_at.type),
    )


PAIR_COLUMNS = [
    "access_token_hash",
    "refresh_token_hash",
    "client_id",
    "user_id",
    "code_id",
    "family_id",
    "scope",
    "issued_at",
    "access_expires_at",
    "refresh_expires_at",
]


def _rotate_and_issue() -> Insert:
    """PostgreSQL: ROTATE and the successor's INSERT as one statement (a data-modifying CTE),
    atomic without a transaction around it."""
    spent = SPEND_REFRESH.returning(
        Token.client_id, Token.user_id, Token.code_id, Token.family_id, Token.scope
    ).cte("spent")
    c = spent.c
    successor = _pair_from(c.client_id, c.user_id, c.code_id, c.family_id, c.scope)
    return insert(Token).from_select(PAIR_COLUMNS, successor).returning(Token.scope).add_cte(spent)


ROTATE_AND_ISSUE = prebuilt(_rotate_and_issue())


def _redeem_and_issue() -> Select:
    """PostgreSQL: spend a code (codes.REDEEM) and store a pair for it, as one statement; the
    spent code's row is the result."""
    spent = REDEEM.cte("spent")
    c = spent.c
    family = bindparam("p_family_id", type_=Token.family_id.type)
    pair = _pair_from(c.client_pk, c.user_id, c.id, family, c.scope).where(
        c.client_pk == bindparam("client_pk")  # only for the client locked first
    )
    issued = insert(Token).from_select(PAIR_COLUMNS, pair).cte("issued")
    return select(spent).add_cte(issued)


REDEEM_AND_ISSUE = prebuilt(_redeem_and_issue())
WITHDRAW = prebuilt(delete(Token).where(Token.code_id == bindparam("code_id")))
# Runs inside the code exchange's transaction, on the hot lane.
REVOKE_ISSUED_FROM_CODE = prebuilt(
    update(Token)
    .where(
        Token.code_id.in_(
            select(AuthorizationCode.id).where(
                AuthorizationCode.code_hash == bindparam("code_hash"),
                AuthorizationCode.used_at.is_not(None),
            )
        ),
        Token.revoked_at.is_(None),
    )
    .values(revoked_at=bindparam("p_now"))
)


class TokenRepository(Repository):
    async def access_with_user(self, access_token_hash: str) -> RowMapping | None:
        """A token and its active user's profile, by access-token hash: one indexed query."""
        result = await self.conn.execute(ACCESS_WITH_USER, {"hash": access_token_hash})
        return result.mappings().first()

    async def for_introspection(self, token_hash: str) -> RowMapping | None:
        """RFC 7662 §2.2: the pair holding this access or refresh token, with its client's
        string client_id and its user's name: one statement over both unique indexes.

        `is_access` says which of the two the hash matched. Nothing is filtered here (revoked,
        expired, inactive user): the engine decides what is active.
        """
        result = await self.conn.execute(
            select(
                (Token.access_token_hash == token_hash).label("is_access"),
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
                or_(Token.access_token_hash == token_hash, Token.refresh_token_hash == token_hash)
            )
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

    async def create(
        self,
        *,
        access_token_hash: str,
        refresh_token_hash: str,
        client_pk: int,
        user_id: int,
        code_id: int | None,
        family_id: str,
        scope: str,
        issued_at: datetime,
        access_expires_at: datetime,
        refresh_expires_at: datetime,
    ) -> None:
        await self.conn.execute(
            CREATE,
            {
                "access_token_hash": access_token_hash,
                "refresh_token_hash": refresh_token_hash,
                "client_id": client_pk,
                "user_id": user_id,
                "code_id": code_id,
                "family_id": family_id,
                "scope": scope,
                "issued_at": issued_at,
                "access_expires_at": access_expires_at,
                "refresh_expires_at": refresh_expires_at,
            },
        )

    async def rotate(
        self, refresh_token_hash: str, client_pk: int, now: datetime
    ) -> RowMapping | None:
        """Spend a live refresh token of this client: one UPDATE ... RETURNING.

        The pair is marked rotated and revoked at once, so its access token dies with it.
        Of concurrent rotations exactly one gets the row. None: unknown, another client's,
        expired, revoked or already rotated, or the client was deleted meanwhile (its row
        is locked first: `held_for_grant`).
        """
        result = await self.conn.execute(
            ROTATE, {"hash": refresh_token_hash, "client_pk": client_pk, "p_now": now}
        )
        return result.mappings().first()

    async def rotate_and_issue(
        self, refresh_token_hash: str, client_pk: int, now: datetime, successor: dict[str, Any]
    ) -> str | None:
        """Spend a live refresh token and store its successor (same family, same scope),
        returning that scope; None when the token could not be spent (see `rotate`).

        On PostgreSQL this is ONE statement, atomic on its own, so the caller may run it in
        autocommit (no BEGIN/COMMIT round trips); elsewhere it is `rotate` then `create`,
        and the caller must hold a transaction.
        """
        if self.conn.dialect.name == "postgresql":
            params = {f"p_{key}": value for key, value in successor.items() if key != "scope"}
            result = await self.conn.execute(
                ROTATE_AND_ISSUE,
                {"hash": refresh_token_hash, "client_pk": client_pk, "p_now": now, **params},
            )
            return result.scalar_one_or_none()
        row = await self.rotate(refresh_token_hash, client_pk, now)
        if row is None:
            return None
        await self.create(
            **{**successor, "scope": row["scope"]},
            client_pk=client_pk,
            user_id=row["user_id"],
            code_id=row["code_id"],
            family_id=row["family_id"],
        )
        return row["scope"]

    async def issue_from_code(
        self, code_hash: str, client_pk: int, now: datetime, pair: dict[str, Any]
    ) -> RowMapping | None:
        """Spend the code presented by client `client_pk` (see `CodeRepository.redeem`) and
        store `pair` (a new family, the code's scope) for it if the code is that client's; the
        spent code's row, or None when it could not be spent (nothing is then stored).

        The pair is stored before the caller has checked the code (client, expiry,
        redirect_uri, PKCE), so that on PostgreSQL spending and storing are ONE statement,
        atomic without a transaction; a caller whose checks fail calls `withdraw` (the
        tokens were never shown to anyone). Elsewhere it is `redeem` then `create`, and the
        caller must hold a transaction.
        """
        if self.conn.dialect.name == "postgresql":
            params = {f"p_{key}": value for key, value in pair.items() if key != "scope"}
            result = await self.conn.execute(
                REDEEM_AND_ISSUE,
                {"p_code_hash": code_hash, "client_pk": client_pk, "p_now": now, **params},
            )
            return result.mappings().first()
        row = await CodeRepository(self.conn).redeem(code_hash, client_pk, now)
        if row is not None and row["client_pk"] == client_pk:
            await self.create(
                **{**pair, "scope": row["scope"]},
                client_pk=client_pk,
                user_id=row["user_id"],
                code_id=row["id"],
            )
        return row

    async def withdraw(self, code_id: int) -> None:
        """Delete the pair `issue_from_code` stored for a code that failed its checks."""
        await self.conn.execute(WITHDRAW, {"code_id": code_id})

    async def revoke_family_of_rotated(
        self, refresh_token_hash: str, client_pk: int, now: datetime
    ) -> int:
        """RFC 9700 §4.14.2: a refresh token presented again after its rotation means two
        parties hold it, so every live token of its family is revoked. One statement; 0 when
        the hash is not a rotated refresh token of this client."""
        family = (
            select(Token.family_id)
            .where(
                Token.refresh_token_hash == refresh_token_hash,
                Token.client_id == client_pk,
                Token.rotated_at.is_not(None),
            )
            .scalar_subquery()
        )
        result = await self.conn.execute(
            update(Token)
            .where(Token.family_id == family, Token.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount

    async def revoke_issued_from_code(self, code_hash: str, now: datetime) -> int:
        """RFC 6749 §4.1.2: a code presented again after it was spent revokes every token
        issued from it, rotations included (they keep the code's id). One statement; 0 for
        an unknown code."""
        result = await self.conn.execute(
            REVOKE_ISSUED_FROM_CODE, {"code_hash": code_hash, "p_now": now}
        )
        return result.rowcount

    async def revoke(self, token_hash: str, client_pk: int, now: datetime) -> int:
        """RFC 7009 §2.1: revoke the pair holding this access or refresh token, if it belongs
        to this client. One statement over both unique indexes, whatever the hint said."""
        result = await self.conn.execute(
            update(Token)
            .where(
                or_(Token.access_token_hash == token_hash, Token.refresh_token_hash == token_hash),
                Token.client_id == client_pk,
                Token.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return result.rowcount
