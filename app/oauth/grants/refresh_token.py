"""`grant_type=refresh_token` (RFC 6749 §6) with rotation (RFC 9700 §4.14.2)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app import clock
from app.config import Settings
from app.oauth.clients import AuthenticatedClient
from app.oauth.errors import InvalidGrant, InvalidRequest, InvalidScope
from app.oauth.ports import TokenStore
from app.oauth.scopes import narrowed_scope, parse_scope
from app.oauth.secrets import hash_secret
from app.oauth.token_pairs import IssuedTokens, mint_pair
from app.observability.metrics import record_tokens_issued, record_tokens_revoked

MISSING_REFRESH_TOKEN = 'Missing "refresh_token" in request.'


class RefreshTokenGrant:
    def __init__(self, tokens: TokenStore, settings: Settings) -> None:
        self._tokens = tokens
        self._settings = settings

    async def refresh(self, client: AuthenticatedClient, params: Mapping[str, str]) -> IssuedTokens:
        """A new pair for a live refresh token of `client`; the old pair is revoked.

        Spending the old pair and storing the new one in its family is one unit of work
        (`rotate_and_issue`): exactly one of concurrent refreshes wins it. A refresh token
        presented again after its rotation revokes the whole family. A scope wider than the
        token's is `invalid_scope` and leaves the token as it was; a narrower one is granted
        (RFC 6749 §6).
        """
        refresh_token = params.get("refresh_token")
        if refresh_token is None:
            raise InvalidRequest(MISSING_REFRESH_TOKEN)
        requested = parse_scope(params.get("scope"))
        token_hash = hash_secret(refresh_token)
        now = clock.utcnow()
        minted = mint_pair(now, self._settings)
        scope = await self._tokens.rotate_and_issue(
            refresh_token_hash=token_hash,
            client_pk=client.pk,
            now=now,
            successor=minted.stored,
            scope=narrowed_to(requested) if requested else None,
        )
        if scope is None:
            revoked = await self._tokens.revoke_family(
                refresh_token_hash=token_hash, client_pk=client.pk, now=now
            )
            record_tokens_revoked("refresh_reuse", revoked)
            raise InvalidGrant()
        record_tokens_revoked("rotation")
        record_tokens_issued("refresh_token")
        return minted.issued(scope)


def narrowed_to(requested: list[str]) -> Callable[[str], str]:
    """The successor's scope for a refresh that asks for `requested`: RFC 6749 §6 allows no
    scope the resource owner did not grant, so InvalidScope unless the spent token held
    every one of them."""

    def scope(held: str) -> str:
        if not set(requested) <= set(held.split()):
            raise InvalidScope()
        return narrowed_scope(held, requested)

    return scope
