"""The apps a user let in (`/api/oauth/authorized_apps`, the connected apps page), and taking
one's access back. Like every app route, scoped to the calling user: another user's grants
are never read nor changed, and an app the user did not let in is "not found"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app import clock
from app.clients.errors import ClientNotFound
from app.clients.pagination import PER_PAGE, Pagination, page_number
from app.db.repositories.authorized_apps import GrantGroup
from app.db.storage import Storage
from app.oauth.clients import plausible_client_id
from app.oauth.scopes import scope_union
from app.observability.metrics import record_tokens_revoked


@dataclass(frozen=True, slots=True)
class AuthorizedApp:
    """One app the user let in: what it holds of theirs, live tokens, unused codes and the
    remembered consent taken together."""

    client_id: str
    name: str
    website: str
    description: str | None
    scope: str  # everything it holds or may get without asking, canonical
    first_authorized_at: datetime  # the oldest consent, code or token it still holds
    last_used_at: datetime | None  # its newest token's issue (a code exchange or a refresh)
    last_activity_at: datetime
    sessions: int  # live token families


@dataclass(frozen=True, slots=True)
class AuthorizedAppPage:
    apps: list[AuthorizedApp]
    pagination: Pagination


def _latest(*values: datetime | None) -> datetime | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def authorized_apps(groups: list[GrantGroup]) -> list[AuthorizedApp]:
    """The groups (one per app and scope string) folded into one entry per app, newest
    activity (an issue, a refresh, a code or an approval) first."""
    by_app: dict[int, list[GrantGroup]] = {}
    for group in groups:
        by_app.setdefault(group.client_pk, []).append(group)
    apps: list[tuple[datetime, int, AuthorizedApp]] = []
    for client_pk, rows in by_app.items():
        first = rows[0]
        last_used = _latest(*(row.used_at for row in rows))
        activity = _latest(*(row.last_at for row in rows)) or min(row.first_at for row in rows)
        app = AuthorizedApp(
            client_id=first.client_id,
            name=first.name,
            website=first.website,
            description=first.description,
            scope=scope_union(*(row.scope for row in rows)),
            first_authorized_at=min(row.first_at for row in rows),
            last_used_at=last_used,
            last_activity_at=activity,
            sessions=sum(row.sessions or 0 for row in rows),
        )
        apps.append((activity, client_pk, app))
    apps.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    return [app for _, _, app in apps]


async def list_authorized_apps(
    storage: Storage, user_id: int, page: int | None
) -> AuthorizedAppPage:
    """One page (5, as the app list) of the apps the user let in: one query for all of them
    (a user lets in few apps; the grouping is the database's, over the user's grants)."""
    number = page_number(page)
    groups = await storage.authorized_apps.groups_for_user(user_id=user_id, now=clock.utcnow())
    apps = authorized_apps(groups)
    start = (number - 1) * PER_PAGE
    return AuthorizedAppPage(
        apps=apps[start : start + PER_PAGE], pagination=Pagination(number, PER_PAGE, len(apps))
    )


async def authorized_app(storage: Storage, user_id: int, client_id: str) -> AuthorizedApp | None:
    """The app of this client_id among those the user let in, or None."""
    groups = await storage.authorized_apps.groups_for_user(user_id=user_id, now=clock.utcnow())
    return next((app for app in authorized_apps(groups) if app.client_id == client_id), None)


async def revoke_authorized_app(storage: Storage, user_id: int, client_id: str) -> int:
    """Take back everything the user gave the app: revoke its live tokens (RFC 7009 §2.1:
    access and refresh tokens together), spend its unused codes, forget the remembered
    consent, in one transaction; how many token pairs were revoked. ClientNotFound for an
    unknown app, or one that holds nothing of this user's."""
    if not plausible_client_id(client_id):
        raise ClientNotFound
    revoked = await storage.authorized_apps.revoke(
        user_id=user_id, client_id=client_id, now=clock.utcnow()
    )
    if revoked is None or not (revoked.tokens or revoked.codes or revoked.consent):
        raise ClientNotFound
    record_tokens_revoked("user_revoke", revoked.tokens)
    return revoked.tokens
