"""The engine's endpoints, built once per process over one store (`app.oauth.ports`)."""

from __future__ import annotations

from app.config import Settings
from app.oauth.authorize import AuthorizationEndpoint
from app.oauth.clients import BruteForceGuard, ClientAuthenticator
from app.oauth.grants.authorization_code import AuthorizationCodeGrant
from app.oauth.grants.refresh_token import RefreshTokenGrant
from app.oauth.introspection import IntrospectionEndpoint
from app.oauth.ports import OAuthStore
from app.oauth.revocation import RevocationEndpoint
from app.oauth.scopes import ScopeCatalogue
from app.oauth.token import TokenEndpoint


class OAuthServer:
    """`authorization` (RFC 6749 §4.1.1), `token` (§3.2), `revocation` (RFC 7009) and
    `introspection` (RFC 7662), with `client_auth` shared by the last three, over `store`:
    the SQL repositories in the server, the in-memory store in the engine's unit tests."""

    def __init__(
        self,
        store: OAuthStore,
        settings: Settings,
        scopes: ScopeCatalogue,
        guard: BruteForceGuard | None = None,
    ) -> None:
        self.store = store
        self.client_auth = ClientAuthenticator(store.clients, guard)
        self.authorization = AuthorizationEndpoint(
            store.clients, store.codes, store.consents, settings, scopes
        )
        self.token = TokenEndpoint(
            self.client_auth,
            AuthorizationCodeGrant(store.tokens, settings),
            RefreshTokenGrant(store.tokens, settings),
        )
        self.revocation = RevocationEndpoint(store.tokens, self.client_auth)
        self.introspection = IntrospectionEndpoint(store.tokens, self.client_auth)
