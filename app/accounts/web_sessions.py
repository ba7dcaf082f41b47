"""The browser's session on the server-rendered pages (log in, the user's apps, the consent
page): a random secret in an HttpOnly cookie, its SHA-256 in the database.

The server can end a session at any time (logging out deletes its row, for every worker at
once); it ends by itself after `WEB_SESSION_IDLE_TIMEOUT` seconds without a page view, and
`WEB_SESSION_LIFETIME` seconds after the login however active. A page view moves the idle
deadline at most once a minute, so browsing costs a read, and a write a minute at most.

CSRF (the pages' forms): the token is derived from the session's secret with HMAC-SHA256, so
nothing more is stored. A page that holds it reveals nothing of the secret, which only the
cookie carries, and only this server (which sees the cookie) can compute it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from app import clock
from app.accounts.profile import UserProfile
from app.config import Settings
from app.db.repositories.web_sessions import WebSessionRepository
from app.oauth.secrets import hash_secret

SECRET_BYTES = 32
TOUCH_EVERY = timedelta(seconds=60)
CSRF_CONTEXT = b"fittrackee-oauth2 page form"


@dataclass(frozen=True, slots=True)
class PageSession:
    """A live session: whose it is, and the CSRF token its forms carry."""

    secret: str
    user: UserProfile
    csrf_token: str


def csrf_token_for(secret: str) -> str:
    """HMAC-SHA256 of a fixed context under the session's secret, hex."""
    return hmac.new(
        secret.encode("utf-8", "surrogatepass"), CSRF_CONTEXT, hashlib.sha256
    ).hexdigest()


def csrf_matches(session: PageSession, presented: str | None) -> bool:
    """Constant-time comparison of a form's token with the session's."""
    return presented is not None and hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), session.csrf_token.encode()
    )


class WebSessions:
    def __init__(self, repository: WebSessionRepository, settings: Settings) -> None:
        self._sessions = repository
        self.idle_timeout = timedelta(
            seconds=min(settings.web_session_idle_timeout, settings.web_session_lifetime)
        )
        self.lifetime = timedelta(seconds=settings.web_session_lifetime)

    async def start(self, user_id: int) -> str:
        """A new session for `user_id` (after a login); the secret for the cookie. Sessions
        that have ended are deleted on the way."""
        secret = secrets.token_urlsafe(SECRET_BYTES)
        now = clock.utcnow()
        await self._sessions.start(
            secret_hash=hash_secret(secret),
            user_id=user_id,
            now=now,
            expires_at=now + self.lifetime,
            idle_since=now - self.idle_timeout,
        )
        return secret

    async def resume(self, secret: str | None) -> PageSession | None:
        """The live session of a cookie's secret, or None (none sent, unknown, ended, or its
        user deactivated). Moves its idle deadline when the last move is a minute old."""
        if not secret or len(secret) > 128:
            return None
        now = clock.utcnow()
        found = await self._sessions.live(
            secret_hash=hash_secret(secret), now=now, idle_since=now - self.idle_timeout
        )
        if found is None:
            return None
        if found.last_seen_at <= now - TOUCH_EVERY:
            await self._sessions.touch(session_id=found.id, now=now, stale=now - TOUCH_EVERY)
        return PageSession(secret=secret, user=found.user, csrf_token=csrf_token_for(secret))

    async def end(self, secret: str) -> None:
        """Log out: the session's row is deleted, so no worker accepts the cookie again."""
        await self._sessions.end(secret_hash=hash_secret(secret))
