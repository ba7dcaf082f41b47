"""OAuth2 clients (FitTrackee's "apps")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import BindParameter, Exists, bindparam, delete, func, insert, select, update

from app.clients.details import ClientDetails, ClientPresentation, ListedClient
from app.db.models import AuthorizationCode, OAuth2Client, Token, User
from app.db.queries import Query
from app.db.repositories import Repository
from app.oauth.ports import ClientRecord

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

CREATE = Query(
    insert(OAuth2Client)
    .values(
        user_id=bindparam("p_user_id"),
        client_id=bindparam("p_client_id"),
        client_secret_hash=bindparam("p_client_secret_hash"),
        name=bindparam("p_name"),
        website=bindparam("p_website"),
        description=bindparam("p_description"),
        redirect_uris=bindparam("p_redirect_uris"),
        scope=bindparam("p_scope"),
        issued_at=bindparam("p_now"),
    )
    .returning(*PUBLIC_COLUMNS),
    ClientDetails,
)
PAGE_FOR_USER = Query(
    select(*PUBLIC_COLUMNS, func.count().over().label("total"))
    .where(OAuth2Client.user_id == bindparam("user_id"))
    .order_by(OAuth2Client.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset")),
    ListedClient,
)
COUNT_FOR_USER = Query(
    select(func.count())
    .select_from(OAuth2Client)
    .where(OAuth2Client.user_id == bindparam("user_id"))
)
OWNED_BY_CLIENT_ID = Query(
    select(*PUBLIC_COLUMNS).where(
        OAuth2Client.client_id == bindparam("client_id"),
        OAuth2Client.user_id == bindparam("user_id"),
    ),
    ClientDetails,
)
OWNED_BY_ID = Query(
    select(*PUBLIC_COLUMNS).where(
        OAuth2Client.id == bindparam("pk"), OAuth2Client.user_id == bindparam("user_id")
    ),
    ClientDetails,
)
IS_OWNED = Query(
    select(OAuth2Client.id).where(
        OAuth2Client.id == bindparam("pk"), OAuth2Client.user_id == bindparam("user_id")
    )
)
DELETE_OWNED = Query(
    delete(OAuth2Client).where(
        OAuth2Client.id == bindparam("pk"), OAuth2Client.user_id == bindparam("user_id")
    )
)
REVOKE_FOR_CLIENT = Query(
    update(Token)
    .where(Token.client_id == bindparam("client_pk"), Token.revoked_at.is_(None))
    .values(revoked_at=bindparam("p_now"))
)
BY_CLIENT_ID = Query(
    select(
        OAuth2Client.id.label("pk"),
        OAuth2Client.client_id,
        OAuth2Client.client_secret_hash,
        OAuth2Client.name,
        OAuth2Client.website,
        OAuth2Client.redirect_uris,
        OAuth2Client.scope,
    ).where(OAuth2Client.client_id == bindparam("client_id")),
    ClientRecord,
)
PRESENTATION = Query(
    select(User.username.label("owner"), OAuth2Client.description)
    .join(User, User.id == OAuth2Client.user_id)
    .where(OAuth2Client.id == bindparam("pk")),
    ClientPresentation,
)
# Revoking an app's tokens spends its unused codes too (marked used, not deleted: a later
# presentation is then a replay, refused as `invalid_grant`).
SPEND_UNUSED_FOR_CLIENT = Query(
    update(AuthorizationCode)
    .where(
        AuthorizationCode.client_id == bindparam("client_pk"),
        AuthorizationCode.used_at.is_(None),
    )
    .values(used_at=bindparam("p_now"))
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
        redirect_uris: Sequence[str],
        scope: str,
        now: datetime,
    ) -> ClientDetails:
        """Store a new client: one INSERT ... RETURNING."""
        found = await self._db.first(
            CREATE,
            {
                "p_user_id": user_id,
                "p_client_id": client_id,
                "p_client_secret_hash": client_secret_hash,
                "p_name": name,
                "p_website": website,
                "p_description": description,
                "p_redirect_uris": list(redirect_uris),
                "p_scope": scope,
                "p_now": now,
            },
        )
        assert found is not None  # an INSERT ... RETURNING returns its row
        return found

    async def page_for_user(
        self, *, user_id: int, page: int, per_page: int
    ) -> tuple[list[ListedClient], int]:
        """One page of the user's clients, newest first, and the user's total.

        The total rides along as a window count, so a page costs one query; only a page past
        the end (no rows to carry it) needs a second, counting query.
        """
        rows = await self._db.rows(
            PAGE_FOR_USER,
            {"user_id": user_id, "limit": per_page, "offset": (page - 1) * per_page},
        )
        if rows:
            return rows, rows[0].total
        total = await self._db.scalar(COUNT_FOR_USER, {"user_id": user_id})
        return rows, total or 0

    async def owned_by_client_id(self, *, user_id: int, client_id: str) -> ClientDetails | None:
        params = {"user_id": user_id, "client_id": client_id}
        return await self._db.first(OWNED_BY_CLIENT_ID, params)

    async def owned_by_id(self, *, user_id: int, pk: int) -> ClientDetails | None:
        return await self._db.first(OWNED_BY_ID, {"user_id": user_id, "pk": pk})

    async def delete_owned(self, *, user_id: int, pk: int) -> bool:
        """Delete the client; its codes and tokens go with it (ON DELETE CASCADE), in the
        same statement, so no token outlives its client."""
        return await self._db.rowcount(DELETE_OWNED, {"user_id": user_id, "pk": pk}) > 0

    async def revoke_tokens(self, *, user_id: int, pk: int, now: datetime) -> int | None:
        """Revoke every live token issued to the user's client (RFC 7009 §2.1: access and
        refresh tokens together) and spend its unused codes; how many tokens, or None when
        the client is not the user's. The ownership check and both updates are one
        transaction."""
        async with self._db.transaction() as tx:
            if await tx.scalar(IS_OWNED, {"user_id": user_id, "pk": pk}) is None:
                return None
            await tx.rowcount(SPEND_UNUSED_FOR_CLIENT, {"client_pk": pk, "p_now": now})
            return await tx.rowcount(REVOKE_FOR_CLIENT, {"client_pk": pk, "p_now": now})

    async def presentation(self, *, pk: int) -> ClientPresentation | None:
        """Its owner's username and its description, for the consent page (one query, by
        primary key; the engine's lookups stay as lean as they are)."""
        return await self._db.first(PRESENTATION, {"pk": pk})

    async def by_client_id(self, *, client_id: str) -> ClientRecord | None:
        """What the OAuth2 engine needs of a client: to authenticate it and check requests."""
        return await self._db.first(BY_CLIENT_ID, {"client_id": client_id})
