"""OAuth2 clients (FitTrackee's "apps")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BindParameter, Exists, bindparam, delete, func, insert, select
from sqlalchemy.engine import RowMapping

from app.db.direct import prebuilt
from app.db.models import OAuth2Client
from app.db.repositories import Repository

PUBLIC_COLUMNS = (
    OAuth2Client.id,
    OAuth2Client.client_id,
    OAuth2Client.name,
    OAuth2Client.website,
    OAuth2Client.description,
    OAuth2Client.redirect_uris,
    OAuth2Client.scope,
    OAuth2Client.issued_at,
)

# Built once: on the hot paths, building a statement costs more than running it.
PAGE_FOR_USER = prebuilt(
    select(*PUBLIC_COLUMNS, func.count().over().label("total"))
    .where(OAuth2Client.user_id == bindparam("user_id"))
    .order_by(OAuth2Client.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
COUNT_FOR_USER = prebuilt(
    select(func.count())
    .select_from(OAuth2Client)
    .where(OAuth2Client.user_id == bindparam("user_id"))
)
BY_CLIENT_ID = prebuilt(
    select(
        OAuth2Client.id,
        OAuth2Client.client_id,
        OAuth2Client.client_secret_hash,
        OAuth2Client.user_id,
        OAuth2Client.name,
        OAuth2Client.website,
        OAuth2Client.redirect_uris,
        OAuth2Client.scope,
    ).where(OAuth2Client.client_id == bindparam("client_id"))
)


def held_for_grant(client_pk: int | BindParameter[int]) -> Exists:
    """`EXISTS (SELECT ... FROM oauth2_clients WHERE id = :pk FOR KEY SHARE)`, for the WHERE
    of the UPDATE that spends a code or a refresh token: the client's row is locked before
    the code's or the token's, and the UPDATE finds nothing once the client is gone.

    The lock is the one the INSERT of the new pair takes anyway for its foreign key check;
    taking it first matters. Deleting a client locks its row, then its codes and tokens
    (ON DELETE CASCADE); a grant that locked a code or token first and then needed the
    client's row for that check would deadlock with it, and PostgreSQL would fail one of the
    two (a 500). In the same order, one simply waits for the other. PostgreSQL evaluates this
    uncorrelated EXISTS once, before scanning (a one-time filter). SQLite has no row locks
    and runs one writer at a time; there it is a plain existence check.
    """
    return (
        select(OAuth2Client.id)
        .where(OAuth2Client.id == client_pk)
        .with_for_update(read=True, key_share=True)
        .exists()
    )


class ClientRepository(Repository):
    async def create(
        self,
        *,
        user_id: int,
        client_id: str,
        client_secret_hash: str,
        name: str,
        website: str,
        description: str | None,
        redirect_uris: list[str],
        scope: str,
        now: datetime,
    ) -> RowMapping:
        result = await self.conn.execute(
            insert(OAuth2Client)
            .values(
                user_id=user_id,
                client_id=client_id,
                client_secret_hash=client_secret_hash,
                name=name,
                website=website,
                description=description,
                redirect_uris=redirect_uris,
                scope=scope,
                issued_at=now,
            )
            .returning(*PUBLIC_COLUMNS)
        )
        return result.mappings().one()

    async def page_for_user(
        self, user_id: int, page: int, per_page: int
    ) -> tuple[list[RowMapping], int]:
        """One page of the user's clients, newest first, and the user's total.

        The total rides along as a window count, so a page costs one query; only a page past
        the end (no rows to carry it) needs a second, counting query.
        """
        result = await self.conn.execute(
            PAGE_FOR_USER,
            {"user_id": user_id, "limit": per_page, "offset": (page - 1) * per_page},
        )
        rows = list(result.mappings())
        if rows:
            return rows, rows[0]["total"]
        total = await self.conn.scalar(COUNT_FOR_USER, {"user_id": user_id})
        return rows, total or 0

    async def owned_by_client_id(self, user_id: int, client_id: str) -> RowMapping | None:
        result = await self.conn.execute(
            select(*PUBLIC_COLUMNS).where(
                OAuth2Client.client_id == client_id, OAuth2Client.user_id == user_id
            )
        )
        return result.mappings().first()

    async def owned_by_id(self, user_id: int, id_: int) -> RowMapping | None:
        result = await self.conn.execute(
            select(*PUBLIC_COLUMNS).where(OAuth2Client.id == id_, OAuth2Client.user_id == user_id)
        )
        return result.mappings().first()

    async def is_owned(self, user_id: int, id_: int) -> bool:
        """Whether client `id_` belongs to `user_id`: one primary-key lookup, no columns read."""
        found = await self.conn.scalar(
            select(OAuth2Client.id).where(OAuth2Client.id == id_, OAuth2Client.user_id == user_id)
        )
        return found is not None

    async def delete_owned(self, user_id: int, id_: int) -> bool:
        """Delete the client; its codes and tokens go with it (ON DELETE CASCADE)."""
        result = await self.conn.execute(
            delete(OAuth2Client).where(OAuth2Client.id == id_, OAuth2Client.user_id == user_id)
        )
        return result.rowcount > 0

    async def by_client_id(self, client_id: str) -> RowMapping | None:
        """What the OAuth2 engine needs of a client: to authenticate it and check requests."""
        result = await self.conn.execute(BY_CLIENT_ID, {"client_id": client_id})
        return result.mappings().first()
