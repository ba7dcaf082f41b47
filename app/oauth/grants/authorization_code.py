"""`grant_type=authorization_code` (RFC 6749 §4.1.3): a code, spent once, for a token pair."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app import clock
from app.config import Settings
from app.oauth import pkce
from app.oauth.clients import AuthenticatedClient
from app.oauth.errors import InvalidGrant, InvalidRequest, OAuthError
from app.oauth.ports import SpentCode, TokenStore
from app.oauth.secrets import hash_secret
from app.oauth.token_pairs import IssuedTokens, mint_pair, new_family_id
from app.observability.metrics import record_tokens_issued, record_tokens_revoked

MISSING_CODE = 'Missing "code" in request.'
INVALID_CODE = 'Invalid "code" in request.'
INVALID_REDIRECT_URI = 'Invalid "redirect_uri" in request.'


class AuthorizationCodeGrant:
    def __init__(self, tokens: TokenStore, settings: Settings) -> None:
        self._tokens = tokens
        self._settings = settings

    async def exchange(
        self, client: AuthenticatedClient, params: Mapping[str, str]
    ) -> IssuedTokens:
        """Redeem the code for `client`.

        The code is spent and the pair stored in one unit of work (`redeem_code_and_issue`:
        whoever wins the code is the only one to get tokens, and a concurrent replay always
        finds and revokes them, RFC 6749 §4.1.2, §10.5). The checks come after: a code that
        fails one stays spent and its pair, never shown to anyone, is withdrawn.
        """
        code = params.get("code")
        if code is None:
            raise InvalidRequest(MISSING_CODE)
        verifier = params.get("code_verifier")
        pkce.check_verifier_format(verifier)
        code_hash = hash_secret(code)
        now = clock.utcnow()
        minted = mint_pair(now, self._settings)
        family_id = new_family_id()
        spent = await self._tokens.redeem_code_and_issue(
            code_hash=code_hash,
            client_pk=client.pk,
            now=now,
            family_id=family_id,
            pair=minted.stored,
        )
        if spent is None:
            # Unknown, or a replay: whatever was issued from it is compromised.
            revoked = await self._tokens.revoke_issued_from_code(code_hash=code_hash, now=now)
            record_tokens_revoked("code_replay", revoked)
            raise InvalidGrant(INVALID_CODE)
        try:
            _check(spent, client, params.get("redirect_uri"), verifier, now)
        except OAuthError:
            await self._tokens.withdraw(user_id=spent.user_id, family_id=family_id)
            raise
        record_tokens_issued("authorization_code")
        return minted.issued(spent.scope)


def _check(
    code: SpentCode,
    client: AuthenticatedClient,
    redirect_uri: str | None,
    verifier: str | None,
    now: datetime,
) -> None:
    """RFC 6749 §4.1.3: issued to this client, not expired, same redirect_uri when one was
    given at authorization; then PKCE (RFC 7636 §4.6)."""
    if code.client_pk != client.pk or code.expires_at <= now:
        raise InvalidGrant(INVALID_CODE)
    if code.redirect_uri is not None and redirect_uri != code.redirect_uri:
        raise InvalidGrant(INVALID_REDIRECT_URI)
    pkce.verify(verifier, code.code_challenge, code.code_challenge_method)
