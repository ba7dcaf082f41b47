"""Remembered consents: what a user approved for an app on the consent page, one row per
(user, app). `ConsentRepository` is the engine's `ConsentStore` (`app.oauth.ports`).

Forgetting a consent is part of the user's revocation of the app
(`AuthorizedAppRepository.revoke`), in that unit of work.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, bindparam, select, update
from sqlalchemy.dialects import postgresql

from app.db.models import Consent, OAuth2Client
from app.db.queries import Query
from app.db.repositories import Repository
from app.db.types import UTCDateTime
from app.oauth.scopes import scope_union

# Each attempt that fails does so because another approval changed the row in between;
# for one user and one app, this many in a row does not happen.
ATTEMPTS = 8

GRANTED = Query(
    select(Consent.scope).where(
        Consent.user_id == bindparam("user_pk"), Consent.client_id == bindparam("client_pk")
    )
)


def _create() -> postgresql.Insert:
    """INSERT ... SELECT from the client's row (locked FOR KEY SHARE on PostgreSQL, as
    `codes.CREATE`): a deleted client inserts nothing rather than failing its foreign key.
    A row made meanwhile by a concurrent approval is left alone (ON CONFLICT DO NOTHING,
    which SQLite has too); the caller then merges into it."""
    source = (
        select(
            bindparam("p_user_id", type_=Integer),
            OAuth2Client.id,
            bindparam("p_scope", type_=String),
            bindparam("p_now", type_=UTCDateTime),
            bindparam("p_now", type_=UTCDateTime),
        )
        .where(OAuth2Client.id == bindparam("client_pk"))
        .with_for_update(read=True, key_share=True)
    )
    columns = ["user_id", "client_id", "scope", "created_at", "updated_at"]
    return (
        postgresql.insert(Consent)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=[Consent.user_id, Consent.client_id])
    )


CREATE = Query(_create())
# Compare and set: only the scope read before is replaced, so a concurrent approval's
# scopes are never overwritten (the loser reads again and merges).
GROW = Query(
    update(Consent)
    .where(
        Consent.user_id == bindparam("user_pk"),
        Consent.client_id == bindparam("client_pk"),
        Consent.scope == bindparam("old_scope"),
    )
    .values(scope=bindparam("p_scope"), updated_at=bindparam("p_now"))
)


class ConsentRepository(Repository):
    async def granted_scope(self, *, user_id: int, client_pk: int) -> str | None:
        """One indexed SELECT (the unique (user_id, client_id) index)."""
        return await self._db.scalar(GRANTED, {"user_pk": user_id, "client_pk": client_pk})

    async def remember(
        self, *, user_id: int, client_pk: int, scope: str, now: datetime
    ) -> str | None:
        """Read what is remembered, then write the union with one guarded statement: an
        INSERT that a concurrent one makes a no-op, or an UPDATE only of the scope read.
        When it changes nothing, another approval changed the row first: read again. Each
        statement is atomic on its own, on both databases, so nothing needs a lock held
        across them. Nothing is written when nothing is new."""
        keys = {"user_pk": user_id, "client_pk": client_pk}
        inserted_nothing = False
        for _ in range(ATTEMPTS):
            old = await self._db.scalar(GRANTED, keys)
            if old is None and inserted_nothing:
                return None  # the INSERT found no client row, and there is no consent
            merged = scope_union(old, scope)
            if old is None:
                params = {"p_user_id": user_id, "client_pk": client_pk, "p_scope": merged}
                if await self._db.rowcount(CREATE, {**params, "p_now": now}) == 1:
                    return merged
                inserted_nothing = True
            elif merged == old:
                return old
            else:
                params = {**keys, "old_scope": old, "p_scope": merged, "p_now": now}
                if await self._db.rowcount(GROW, params) == 1:
                    return merged
        raise RuntimeError(f"consent of user {user_id} for client {client_pk} kept changing")
