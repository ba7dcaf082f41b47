"""The token endpoint (RFC 6749 §3.2): pick the grant, authenticate the client, run it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from app.oauth.clients import AuthenticatedClient, ClientAuthenticator, PresentedCredentials
from app.oauth.errors import InvalidRequest, UnsupportedGrantType
from app.oauth.grants.authorization_code import AuthorizationCodeGrant
from app.oauth.grants.refresh_token import RefreshTokenGrant
from app.oauth.token_pairs import IssuedTokens

MISSING_GRANT_TYPE = 'Missing "grant_type" in request.'

Grant = Callable[[AuthenticatedClient, Mapping[str, str]], Awaitable[IssuedTokens]]


class TokenEndpoint:
    def __init__(
        self,
        authenticator: ClientAuthenticator,
        code_grant: AuthorizationCodeGrant,
        refresh_grant: RefreshTokenGrant,
    ) -> None:
        self._authenticator = authenticator
        self._grants: dict[str, Grant] = {
            "authorization_code": code_grant.exchange,
            "refresh_token": refresh_grant.refresh,
        }

    async def issue(
        self, credentials: PresentedCredentials | None, params: Mapping[str, str]
    ) -> IssuedTokens:
        """Tokens for a valid request; an `OAuthError` otherwise (RFC 6749 §5.2).

        The grant type is checked before the client, so a request we cannot serve costs no
        query; every other check comes after the client is authenticated.
        """
        grant_type = params.get("grant_type")
        if grant_type is None:
            raise InvalidRequest(MISSING_GRANT_TYPE)
        grant = self._grants.get(grant_type)
        if grant is None:
            raise UnsupportedGrantType()
        client = await self._authenticator.authenticate(credentials)
        return await grant(client, params)
