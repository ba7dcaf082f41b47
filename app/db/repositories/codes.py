"""Authorization codes (RFC 6749 §4.1.2), stored hashed and marked `used_at` when redeemed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Insert, Integer, String, bindparam, insert, select, update
from sqlalchemy.engine import RowMapping

from app.db.direct import prebuilt
from app.db.models import AuthorizationCode, OAuth2Client
from app.db.repositories import Repository
from app.db.repositories.clients import held_for_grant
from app.db.types import UTCDateTime


def _create() -> Insert:
    """INSERT ... SELECT from the client's row, so a deleted client inserts nothing."""
    columns = {
        AuthorizationCode.code_hash: bindparam("p_code_hash", type_=String),
        AuthorizationCode.client_id: OAuth2Client.id,
        AuthorizationCode.user_id: bindparam("p_user_id", type_=Integer),
        AuthorizationCode.scope: bindparam("p_scope", type_=String),
        AuthorizationCode.redirect_uri: bindparam("p_redirect_uri", type_=String),
        AuthorizationCode.code_challenge: bindparam("p_code_challenge", type_=String),
        AuthorizationCode.code_challenge_method: bindparam("p_code_challenge_method", type_=String),
        AuthorizationCode.created_at: bindparam("p_created_at", type_=UTCDateTime),
        AuthorizationCode.expires_at: bindparam("p_expires_at", type_=UTCDateTime),
    }
    source = (
        select(*columns.values())
        .where(OAuth2Client.id == bindparam("client_pk"))
        .with_for_update(read=True, key_share=True)
    )
    return insert(AuthorizationCode).from_select([column.key for column in columns], source)


# Built once: on the hot paths, building a statement costs more than running it.
CREATE = prebuilt(_create())
REDEEM = prebuilt(
    update(AuthorizationCode)
    .where(
        AuthorizationCode.code_hash == bindparam("p_code_hash"),
        AuthorizationCode.used_at.is_(None),
        held_for_grant(bindparam("client_pk")),
    )
    .values(used_at=bindparam("p_now"))
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
    ) -> bool:
        """Store a code for client `client_pk`; False when that client no longer exists.

        One INSERT ... SELECT from the client's row (locked FOR KEY SHARE on PostgreSQL, as
        the foreign key check would): a client deleted since the caller read it, or whose
        deletion commits while this waits for the row, leaves nothing to insert, where a
        plain INSERT would fail its foreign key check with an error (a 500).
        """
        result = await self.conn.execute(
            CREATE,
            {
                "p_code_hash": code_hash,
                "client_pk": client_pk,
                "p_user_id": user_id,
                "p_scope": scope,
                "p_redirect_uri": redirect_uri,
                "p_code_challenge": code_challenge,
                "p_code_challenge_method": code_challenge_method,
                "p_created_at": now,
                "p_expires_at": expires_at,
            },
        )
        return result.rowcount == 1

    async def redeem(self, code_hash: str, client_pk: int, now: datetime) -> RowMapping | None:
        """Spend the code presented by client `client_pk`: one UPDATE ... RETURNING that only
        an unused code passes.

        The database decides who wins: of concurrent redemptions exactly one gets the row
        (PostgreSQL re-checks `used_at IS NULL` after waiting on the row lock; SQLite takes
        one writer at a time). None: unknown or already used, or the presenting client was
        deleted meanwhile (its row is locked first: `held_for_grant`). The code is spent
        whatever the caller finds wrong with it afterwards (expired, other client, failed
        PKCE).
        """
        result = await self.conn.execute(
            REDEEM, {"p_code_hash": code_hash, "client_pk": client_pk, "p_now": now}
        )
        return result.mappings().first()

    async def spend_unused_for_client(self, client_pk: int, now: datetime) -> int:
        """Mark every unused code of a client used (not deleted: a later presentation is
        then a replay, refused as `invalid_grant`); how many."""
        result = await self.conn.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.client_id == client_pk, AuthorizationCode.used_at.is_(None))
            .values(used_at=now)
        )
        return result.rowcount
