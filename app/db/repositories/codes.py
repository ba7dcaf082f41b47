"""Authorization codes (RFC 6749 §4.1.2), stored hashed and marked `used_at` when redeemed.

Redeeming is the token endpoint's unit of work: `TokenRepository.redeem_code_and_issue`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Insert, Integer, String, bindparam, insert, select, update

from app.db.executor import Executor
from app.db.models import AuthorizationCode, OAuth2Client
from app.db.queries import Query
from app.db.repositories import Repository
from app.db.repositories.clients import held_for_grant
from app.db.types import UTCDateTime
from app.oauth.ports import SpentCode


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


CREATE = Query(_create())
# Of concurrent redemptions exactly one gets the row: PostgreSQL re-checks `used_at IS NULL`
# after waiting on the row lock; SQLite takes one writer at a time.
REDEEM = Query(
    update(AuthorizationCode)
    .where(
        AuthorizationCode.code_hash == bindparam("p_code_hash"),
        AuthorizationCode.used_at.is_(None),
        held_for_grant(bindparam("client_pk")),
    )
    .values(used_at=bindparam("p_now"), family_id=bindparam("p_family_id"))
    .returning(
        AuthorizationCode.id,
        AuthorizationCode.client_id.label("client_pk"),
        AuthorizationCode.user_id,
        AuthorizationCode.scope,
        AuthorizationCode.redirect_uri,
        AuthorizationCode.code_challenge,
        AuthorizationCode.code_challenge_method,
        AuthorizationCode.expires_at,
    ),
    SpentCode,
)


async def redeem(
    ex: Executor, *, code_hash: str, client_pk: int, now: datetime, family_id: str
) -> SpentCode | None:
    """A step of a unit of work: spend the code presented by client `client_pk` (one UPDATE
    ... RETURNING that only an unused code passes), noting the family its pair starts. None:
    unknown or already used, or the presenting client was deleted meanwhile (its row is
    locked first: `held_for_grant`)."""
    params = {"p_code_hash": code_hash, "client_pk": client_pk, "p_now": now}
    return await ex.first(REDEEM, {**params, "p_family_id": family_id})


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
        created_at: datetime,
        expires_at: datetime,
    ) -> bool:
        """Store a code for client `client_pk`; False when that client no longer exists.

        One INSERT ... SELECT from the client's row (locked FOR KEY SHARE on PostgreSQL, as
        the foreign key check would): a client deleted since the caller read it, or whose
        deletion commits while this waits for the row, leaves nothing to insert, where a
        plain INSERT would fail its foreign key check with an error (a 500).
        """
        inserted = await self._db.rowcount(
            CREATE,
            {
                "p_code_hash": code_hash,
                "client_pk": client_pk,
                "p_user_id": user_id,
                "p_scope": scope,
                "p_redirect_uri": redirect_uri,
                "p_code_challenge": code_challenge,
                "p_code_challenge_method": code_challenge_method,
                "p_created_at": created_at,
                "p_expires_at": expires_at,
            },
        )
        return inserted == 1
