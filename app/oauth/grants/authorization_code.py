"""`grant_type=authorization_code` (RFC 6749 §4.1.3): a code, spent once, for a token pair."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy.engine import RowMapping

from app import clock
from app.config import Settings
from app.db.engine import Database
from app.oauth import pkce
from app.oauth.clients import AuthenticatedClient
from app.oauth.errors import InvalidGrant, InvalidRequest, OAuthError
from app.oauth.secrets import hash_secret
from app.oauth.token_pairs import IssuedTokens, mint_pair, new_family_id
from app.observability.metrics import record_tokens_issued, record_tokens_revoked

MISSING_CODE = 'Missing "code" in request.'
INVALID_CODE = 'Invalid "code" in request.'
INVALID_REDIRECT_URI = 'Invalid "redirect_uri" in request.'


class AuthorizationCodeGrant:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    async def exchange(
        self, client: AuthenticatedClient, params: Mapping[str, str]
    ) -> IssuedTokens:
        """Redeem the code for `client`.

        The code is spent by a single UPDATE (whoever wins it is the only one to get tokens)
        and the pair is stored with it: one statement on PostgreSQL, one transaction
        elsewhere. The winner's row stays locked until its tokens are committed, so a
        concurrent replay, which waits for that lock, always finds and revokes them
        (RFC 6749 §4.1.2, §10.5). The checks come after: a code that fails one stays spent
        and its pair, never shown to anyone, is withdrawn.
        """
        code = params.get("code")
        if code is None:
            raise InvalidRequest(MISSING_CODE)
        verifier = params.get("code_verifier")
        pkce.check_verifier_format(verifier)
        code_hash = hash_secret(code)
        now = clock.utcnow()
        failure: OAuthError | None = None
        issued, stored = mint_pair("", now, self._settings)
        pair = {**stored, "family_id": new_family_id()}
        async with self._db.hot_atomic() as storage:
            row = await storage.tokens.issue_from_code(code_hash, client.pk, now, pair)
            if row is None:
                # Unknown, or a replay: whatever was issued from it is compromised.
                revoked = await storage.tokens.revoke_issued_from_code(code_hash, now)
                failure = InvalidGrant(INVALID_CODE)
            else:
                try:
                    _check(row, client, params.get("redirect_uri"), verifier, now)
                except OAuthError as exc:
                    failure = exc
                    await storage.tokens.withdraw(row["id"])
        if failure is not None:
            if row is None:
                record_tokens_revoked("code_replay", revoked)
            raise failure
        record_tokens_issued("authorization_code")
        return replace(issued, scope=row["scope"])


def _check(
    row: RowMapping,
    client: AuthenticatedClient,
    redirect_uri: str | None,
    verifier: str | None,
    now: datetime,
) -> None:
    """RFC 6749 §4.1.3: issued to this client, not expired, same redirect_uri when one was
    given at authorization; then PKCE (RFC 7636 §4.6)."""
    if row["client_pk"] != client.pk or row["expires_at"] <= now:
        raise InvalidGrant(INVALID_CODE)
    if row["redirect_uri"] is not None and redirect_uri != row["redirect_uri"]:
        raise InvalidGrant(INVALID_REDIRECT_URI)
    pkce.verify(verifier, row["code_challenge"], row["code_challenge_method"])
