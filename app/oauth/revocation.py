"""The revocation endpoint (RFC 7009)."""

from __future__ import annotations

from collections.abc import Mapping

from app import clock
from app.oauth.clients import ClientAuthenticator, PresentedCredentials
from app.oauth.errors import InvalidRequest
from app.oauth.ports import TokenStore
from app.oauth.secrets import hash_secret
from app.observability.metrics import record_tokens_revoked

MISSING_TOKEN = 'Missing "token" in request.'
MAX_TOKEN = 256


class RevocationEndpoint:
    def __init__(self, tokens: TokenStore, authenticator: ClientAuthenticator) -> None:
        self._tokens = tokens
        self._authenticator = authenticator

    async def revoke(
        self, credentials: PresentedCredentials | None, params: Mapping[str, str]
    ) -> None:
        """Revoke the pair holding `token` (access or refresh) if it is this client's.

        RFC 7009 §2.2: an unknown, already revoked or other client's token is answered like a
        success (and the other client's token stays valid). `token_type_hint` is ignored
        (§2.1 allows it): one statement finds the token as either kind. Revoking either
        token of a pair kills both (§2.1: the refresh token's access tokens go with it).
        """
        client = await self._authenticator.authenticate(credentials)
        token = params.get("token")
        if token is None:
            raise InvalidRequest(MISSING_TOKEN)
        if len(token) > MAX_TOKEN:
            return
        revoked = await self._tokens.revoke(
            token_hash=hash_secret(token), client_pk=client.pk, now=clock.utcnow()
        )
        record_tokens_revoked("revocation_endpoint", revoked)
