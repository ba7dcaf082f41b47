"""`grant_type=refresh_token` (RFC 6749 §6) with rotation (RFC 9700 §4.14.2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from app import clock
from app.config import Settings
from app.db.engine import Database
from app.oauth.clients import AuthenticatedClient
from app.oauth.errors import InvalidGrant, InvalidRequest, InvalidScope
from app.oauth.scopes import narrowed_scope, parse_scope
from app.oauth.secrets import hash_secret
from app.oauth.token_pairs import IssuedTokens, mint_pair
from app.observability.metrics import record_tokens_issued, record_tokens_revoked

MISSING_REFRESH_TOKEN = 'Missing "refresh_token" in request.'


class RefreshTokenGrant:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    async def refresh(self, client: AuthenticatedClient, params: Mapping[str, str]) -> IssuedTokens:
        """A new pair for a live refresh token of `client`; the old pair is revoked.

        A single UPDATE spends the old pair (exactly one of concurrent refreshes wins it) and
        the new pair is inserted in the same family, all or nothing: one statement on
        PostgreSQL, one transaction elsewhere or when a scope is asked for. A refresh token
        presented again after its rotation revokes the whole family. A scope wider than the
        token's is `invalid_scope` and rolls the rotation back; a narrower one is granted
        (RFC 6749 §6).
        """
        refresh_token = params.get("refresh_token")
        if refresh_token is None:
            raise InvalidRequest(MISSING_REFRESH_TOKEN)
        requested = parse_scope(params.get("scope"))
        token_hash = hash_secret(refresh_token)
        now = clock.utcnow()
        if not requested:
            return await self._rotate_same_scope(client, token_hash, now)
        async with self._db.transaction() as storage:
            row = await storage.tokens.rotate(token_hash, client.pk, now)
            if row is None:
                revoked = await storage.tokens.revoke_family_of_rotated(token_hash, client.pk, now)
            else:
                scope = row["scope"]
                if requested:
                    if not set(requested) <= set(scope.split()):
                        raise InvalidScope()
                    scope = narrowed_scope(scope, requested)
                issued, stored = mint_pair(scope, now, self._settings)
                await storage.tokens.create(
                    **stored,
                    client_pk=client.pk,
                    user_id=row["user_id"],
                    code_id=row["code_id"],
                    family_id=row["family_id"],
                )
        if row is None:
            record_tokens_revoked("refresh_reuse", revoked)
            raise InvalidGrant()
        record_tokens_revoked("rotation")
        record_tokens_issued("refresh_token")
        return issued

    async def _rotate_same_scope(
        self, client: AuthenticatedClient, token_hash: str, now: datetime
    ) -> IssuedTokens:
        """The common refresh (no `scope` asked): spending the old pair and storing the new
        one is a single statement on PostgreSQL, so no transaction round trips."""
        issued, stored = mint_pair("", now, self._settings)
        async with self._db.hot_atomic() as storage:
            scope = await storage.tokens.rotate_and_issue(token_hash, client.pk, now, stored)
        if scope is None:
            async with self._db.autocommit() as storage:
                revoked = await storage.tokens.revoke_family_of_rotated(token_hash, client.pk, now)
            record_tokens_revoked("refresh_reuse", revoked)
            raise InvalidGrant()
        record_tokens_revoked("rotation")
        record_tokens_issued("refresh_token")
        return replace(issued, scope=scope)
