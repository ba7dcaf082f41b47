"""The introspection endpoint (RFC 7662): a resource server that is not this process asks
whether a token is active, and for what.

Only the client a token was issued to may introspect it: anything else, whether unknown,
expired, revoked, of a deactivated user or another client's, is `{"active": false}` and nothing
more (RFC 7662 §2.2, §4: an inactive answer reveals nothing about why).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app import clock
from app.oauth.clients import AuthenticatedClient, ClientAuthenticator, PresentedCredentials
from app.oauth.errors import InvalidRequest
from app.oauth.ports import IntrospectedToken, TokenStore
from app.oauth.secrets import hash_secret
from app.oauth.token_pairs import TOKEN_TYPE

MISSING_TOKEN = 'Missing "token" in request.'
MAX_TOKEN = 256
INACTIVE: dict[str, Any] = {"active": False}


class IntrospectionEndpoint:
    def __init__(self, tokens: TokenStore, authenticator: ClientAuthenticator) -> None:
        self._tokens = tokens
        self._authenticator = authenticator

    async def introspect(
        self, credentials: PresentedCredentials | None, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """The RFC 7662 §2.2 answer for `token`, as seen by the authenticated client.

        The client authenticates as at the token endpoint (§2.1 requires some authorization;
        InvalidClient otherwise). `token_type_hint` is ignored (§2.1 allows it): one indexed
        query finds the token as either kind.
        """
        client = await self._authenticator.authenticate(credentials)
        token = params.get("token")
        if token is None:
            raise InvalidRequest(MISSING_TOKEN)
        if len(token) > MAX_TOKEN:
            return dict(INACTIVE)
        found = await self._tokens.for_introspection(token_hash=hash_secret(token))
        return describe(found, client, clock.utcnow())


def describe(
    token: IntrospectedToken | None, client: AuthenticatedClient, now: datetime
) -> dict[str, Any]:
    """§2.2 members of an active token; `{"active": false}` for anything else.

    `token_type` is `Bearer` for an access token. A refresh token is not an access token type
    (RFC 6749 §7.1), so its answer leaves `token_type` out (§2.2 makes it optional): a resource
    server that requires `token_type == "Bearer"` cannot be handed a refresh token as if it
    were an access token. `exp` and `iat` are integer seconds since the epoch; `sub` is the
    user's id as a string (RFC 7519 §4.1.2 via §2.2).
    """
    if token is None or token.client_pk != client.pk:
        return dict(INACTIVE)
    expires_at = token.access_expires_at if token.is_access else token.refresh_expires_at
    if token.revoked_at is not None or not token.user_is_active or expires_at <= now:
        return dict(INACTIVE)
    answer: dict[str, Any] = {
        "active": True,
        "scope": token.scope,
        "client_id": token.client_id,
        "username": token.username,
        "sub": str(token.user_id),
        "exp": int(expires_at.timestamp()),
        "iat": int(token.issued_at.timestamp()),
    }
    if token.is_access:
        answer["token_type"] = TOKEN_TYPE
    return answer
