"""Validating an OAuth2 access token at a protected resource (RFC 6750): one indexed query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.accounts.profile import UserProfile
from app.oauth.errors import InvalidToken
from app.oauth.ports import TokenStore
from app.oauth.secrets import hash_secret

MAX_TOKEN = 256


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """Who an access token speaks for, for which client, with which scopes."""

    user_id: int
    client_pk: int
    scope: frozenset[str]
    user: UserProfile


async def validate_access_token(tokens: TokenStore, token: str, now: datetime) -> AccessGrant:
    """The grant behind a live access token; InvalidToken if unknown, revoked or expired, or
    when its user is not active."""
    if len(token) > MAX_TOKEN:
        raise InvalidToken
    found = await tokens.access_with_user(access_token_hash=hash_secret(token))
    if found is None or found.revoked_at is not None or found.expires_at <= now:
        raise InvalidToken
    return AccessGrant(
        user_id=found.user.id,
        client_pk=found.client_pk,
        scope=frozenset(found.scope.split()),
        user=found.user,
    )
