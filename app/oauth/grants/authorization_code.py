"""`grant_type=authorization_code` (RFC 6749 §4.1.3): a code, spent once, for a token pair."""

from __future__ import annotations

from collections.abc import Mapping
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

        One transaction: the code is spent by a single UPDATE (whoever wins it is the only
        one to get tokens), then the pair is inserted. The transaction keeps the winner's row
        locked until its tokens are committed, so a concurrent replay, which waits for that
        lock, always finds and revokes them (RFC 6749 §4.1.2, §10.5). A code that fails a
        check after being spent stays spent: the error is raised after the commit.
        """
        code = params.get("code")
        if code is None:
            raise InvalidRequest(MISSING_CODE)
        verifier = params.get("code_verifier")
        pkce.check_verifier_format(verifier)
        code_hash = hash_secret(code)
        now = clock.utcnow()
        failure: OAuthError | None = None
        async with self._db.hot(transaction=True) as storage:
            row = await storage.codes.redeem(code_hash, client.pk, now)
            if row is None:
                # Unknown, or a replay: whatever was issued from it is compromised.
                revoked = await storage.tokens.revoke_issued_from_code(code_hash, now)
                failure = InvalidGrant(INVALID_CODE)
            else:
                try:
                    _check(row, client, params.get("redirect_uri"), verifier, now)
                except OAuthError as exc:
                    failure = exc
                else:
                    issued, stored = mint_pair(row["scope"], now, self._settings)
                    await storage.tokens.create(
                        **stored,
                        client_pk=client.pk,
                        user_id=row["user_id"],
                        code_id=row["id"],
                        family_id=new_family_id(),
                    )
        if failure is not None:
            if row is None:
                record_tokens_revoked("code_replay", revoked)
            raise failure
        record_tokens_issued("authorization_code")
        return issued


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
