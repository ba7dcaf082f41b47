"""The pages' cookie sessions, by the SHA-256 of the cookie's secret (`app.accounts.web_sessions`
decides their lifetimes; here they are only read and written)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, update

from app.accounts.profile import UserProfile
from app.db.models import User, WebSession
from app.db.queries import Query
from app.db.repositories import Repository
from app.db.repositories.users import PROFILE_COLUMNS


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A live session and its user's profile (the user is active)."""

    id: int
    user: UserProfile
    last_seen_at: datetime
    expires_at: datetime


def _stored_session(*values: Any) -> StoredSession:
    session_id, last_seen_at, expires_at = values[:3]
    return StoredSession(session_id, UserProfile(*values[3:]), last_seen_at, expires_at)


LIVE = Query(
    select(
        WebSession.id.label("session_id"),
        WebSession.last_seen_at,
        WebSession.expires_at,
        *PROFILE_COLUMNS,
    )
    .join(User, User.id == WebSession.user_id)
    .where(
        WebSession.secret_hash == bindparam("hash"),
        WebSession.expires_at > bindparam("now"),
        WebSession.last_seen_at > bindparam("idle_since"),
        User.is_active.is_(True),
    ),
    _stored_session,
)
CREATE = Query(
    insert(WebSession).values(
        secret_hash=bindparam("p_hash"),
        user_id=bindparam("p_user_id"),
        created_at=bindparam("p_now"),
        last_seen_at=bindparam("p_now"),
        expires_at=bindparam("p_expires_at"),
    )
)
# Sessions past their absolute end, anyone's (the expires_at index), and the user's own that
# ended by idling (the user_id index): what a login leaves behind is bounded.
DELETE_ENDED = Query(
    delete(WebSession).where(
        or_(
            WebSession.expires_at <= bindparam("now"),
            (WebSession.user_id == bindparam("user_pk"))
            & (WebSession.last_seen_at <= bindparam("idle_since")),
        )
    )
)
# At most one write a minute per session: only a last_seen_at older than `stale` moves.
TOUCH = Query(
    update(WebSession)
    .where(WebSession.id == bindparam("session_id"), WebSession.last_seen_at < bindparam("stale"))
    .values(last_seen_at=bindparam("p_now"))
)
END = Query(delete(WebSession).where(WebSession.secret_hash == bindparam("hash")))


class WebSessionRepository(Repository):
    async def start(
        self,
        *,
        secret_hash: str,
        user_id: int,
        now: datetime,
        expires_at: datetime,
        idle_since: datetime,
    ) -> None:
        """Store a new session, and delete the sessions that have ended (every user's past
        their absolute end, this user's idle since `idle_since`): one transaction."""
        async with self._db.transaction() as tx:
            ended = {"now": now, "user_pk": user_id, "idle_since": idle_since}
            await tx.rowcount(DELETE_ENDED, ended)
            params = {"p_hash": secret_hash, "p_user_id": user_id, "p_now": now}
            await tx.rowcount(CREATE, {**params, "p_expires_at": expires_at})

    async def live(
        self, *, secret_hash: str, now: datetime, idle_since: datetime
    ) -> StoredSession | None:
        """The session of this hash if it has not ended and its user is active: one indexed
        SELECT (the unique secret_hash index)."""
        params = {"hash": secret_hash, "now": now, "idle_since": idle_since}
        return await self._db.first(LIVE, params)

    async def touch(self, *, session_id: int, now: datetime, stale: datetime) -> None:
        """Move last_seen_at to `now` if it is older than `stale` (one UPDATE by primary key)."""
        await self._db.rowcount(TOUCH, {"session_id": session_id, "p_now": now, "stale": stale})

    async def end(self, *, secret_hash: str) -> bool:
        """Delete the session: it ends for every worker at once. Whether there was one."""
        return await self._db.rowcount(END, {"hash": secret_hash}) > 0
