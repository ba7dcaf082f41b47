"""The apps a user let in: every app holding a live grant of theirs (a token pair or an unused
code) or a remembered consent, and taking it all back.

A pair is live while it is not revoked and one of its tokens has not expired; a code while
it is unused and unexpired. Reading what was last used costs no write anywhere: it is the
newest `issued_at` of a live pair (an issue or a refresh), never a token's validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Integer,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)

from app.db.models import AuthorizationCode, Consent, OAuth2Client, Token
from app.db.queries import Query
from app.db.repositories import Repository
from app.db.types import UTCDateTime

USER = bindparam("user_pk", type_=Integer)
NOW = bindparam("now", type_=UTCDateTime)
NO_TIME = cast(null(), UTCDateTime)


@dataclass(frozen=True, slots=True)
class GrantGroup:
    """What one app holds of the user's, for one scope string (an app's grants may differ
    in scope); `scope` is None for the rows that only date the first authorization."""

    client_pk: int
    client_id: str
    name: str
    website: str
    description: str | None
    scope: str | None
    first_at: datetime
    last_at: datetime | None
    used_at: datetime | None
    sessions: int


def _live_pair(token: type[Token] = Token) -> object:
    return and_(
        token.user_id == USER,
        token.revoked_at.is_(None),
        or_(token.refresh_expires_at > NOW, token.access_expires_at > NOW),
    )


def _grants() -> object:
    """One row per grant: (client, scope, first, last activity, last issue, session)."""
    live_pairs = select(
        Token.client_id.label("client_pk"),
        Token.scope.label("scope"),
        Token.issued_at.label("first_at"),
        Token.issued_at.label("last_at"),
        Token.issued_at.label("used_at"),
        literal_column("1", Integer).label("session"),
    ).where(_live_pair())
    # Every pair of a family that is still live (its rotated ancestors included, which
    # `clean` keeps while the family lives): when the family's first code was exchanged.
    family_starts = select(
        Token.client_id,
        cast(null(), Text),
        Token.issued_at,
        NO_TIME,
        NO_TIME,
        literal_column("0", Integer),
    ).where(
        Token.user_id == USER,
        Token.family_id.in_(select(Token.family_id).where(_live_pair())),
    )
    live_codes = select(
        AuthorizationCode.client_id,
        AuthorizationCode.scope,
        AuthorizationCode.created_at,
        AuthorizationCode.created_at,
        NO_TIME,
        literal_column("0", Integer),
    ).where(
        AuthorizationCode.user_id == USER,
        AuthorizationCode.used_at.is_(None),
        AuthorizationCode.expires_at > NOW,
    )
    consents = select(
        Consent.client_id,
        Consent.scope,
        Consent.created_at,
        Consent.updated_at,
        NO_TIME,
        literal_column("0", Integer),
    ).where(Consent.user_id == USER)
    return union_all(live_pairs, family_starts, live_codes, consents).subquery("grants")


def _groups() -> object:
    grants = _grants()
    g = grants.c  # type: ignore[attr-defined]
    return (
        select(
            OAuth2Client.id.label("client_pk"),
            OAuth2Client.client_id,
            OAuth2Client.name,
            OAuth2Client.website,
            OAuth2Client.description,
            g.scope,
            func.min(g.first_at).label("first_at"),
            func.max(g.last_at).label("last_at"),
            func.max(g.used_at).label("used_at"),
            func.sum(g.session).label("sessions"),
        )
        .join(OAuth2Client, OAuth2Client.id == g.client_pk)
        .group_by(
            OAuth2Client.id,
            OAuth2Client.client_id,
            OAuth2Client.name,
            OAuth2Client.website,
            OAuth2Client.description,
            g.scope,
        )
    )


GROUPS = Query(_groups(), GrantGroup)  # type: ignore[arg-type]
# The app's row is locked first (FOR KEY SHARE on PostgreSQL), as a grant locks it
# (`clients.held_for_grant`): an app being deleted meanwhile makes this wait, or find
# nothing, rather than deadlock with the deletion's cascade over the same tokens and codes.
CLIENT_PK = Query(
    select(OAuth2Client.id)
    .where(OAuth2Client.client_id == bindparam("client_id"))
    .with_for_update(read=True, key_share=True)
)
REVOKE_PAIRS = Query(
    update(Token)
    .where(Token.client_id == bindparam("client_pk"), _live_pair())
    .values(revoked_at=NOW)
)
# Marked used, not deleted: a later presentation is a replay, refused (RFC 6749 §4.1.2).
SPEND_CODES = Query(
    update(AuthorizationCode)
    .where(
        AuthorizationCode.client_id == bindparam("client_pk"),
        AuthorizationCode.user_id == USER,
        AuthorizationCode.used_at.is_(None),
        AuthorizationCode.expires_at > NOW,
    )
    .values(used_at=NOW)
)
FORGET_CONSENT = Query(
    delete(Consent).where(Consent.client_id == bindparam("client_pk"), Consent.user_id == USER)
)


@dataclass(frozen=True, slots=True)
class Revoked:
    """What taking an app's access back did: pairs revoked, codes spent, consent forgotten."""

    tokens: int
    codes: int
    consent: bool


class AuthorizedAppRepository(Repository):
    async def groups_for_user(self, *, user_id: int, now: datetime) -> list[GrantGroup]:
        """Everything the user let in, grouped by app and scope: one query, whatever the
        number of apps (the caller pages them)."""
        return await self._db.rows(GROUPS, {"user_pk": user_id, "now": now})

    async def revoke(self, *, user_id: int, client_id: str, now: datetime) -> Revoked | None:
        """Revoke every live pair of the user's for the app, spend their unused codes and
        forget the consent: one transaction. None for an unknown client_id. Other users'
        grants and the app itself are untouched."""
        async with self._db.transaction() as tx:
            client_pk = await tx.scalar(CLIENT_PK, {"client_id": client_id})
            if client_pk is None:
                return None
            params = {"client_pk": client_pk, "user_pk": user_id, "now": now}
            tokens = await tx.rowcount(REVOKE_PAIRS, params)
            codes = await tx.rowcount(SPEND_CODES, params)
            consent = await tx.rowcount(FORGET_CONSENT, params) > 0
            return Revoked(tokens=tokens, codes=codes, consent=consent)
