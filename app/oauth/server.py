"""The engine's endpoints, built once per process over one database."""

from __future__ import annotations

from app.config import Settings
from app.db.engine import Database
from app.oauth.authorize import AuthorizationEndpoint
from app.oauth.clients import BruteForceGuard, ClientAuthenticator
from app.oauth.grants.authorization_code import AuthorizationCodeGrant
from app.oauth.grants.refresh_token import RefreshTokenGrant
from app.oauth.introspection import IntrospectionEndpoint
from app.oauth.revocation import RevocationEndpoint
from app.oauth.scopes import ScopeCatalogue
from app.oauth.token import TokenEndpoint


class OAuthServer:
    """`authorization` (RFC 6749 §4.1.1), `token` (§3.2), `revocation` (RFC 7009) and
    `introspection` (RFC 7662), with `client_auth` shared by the last three."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        scopes: ScopeCatalogue,
        guard: BruteForceGuard | None = None,
    ) -> None:
        self.client_auth = ClientAuthenticator(db, guard)
        self.authorization = AuthorizationEndpoint(db, settings, scopes)
        self.token = TokenEndpoint(
            self.client_auth,
            AuthorizationCodeGrant(db, settings),
            RefreshTokenGrant(db, settings),
        )
        self.revocation = RevocationEndpoint(db, self.client_auth)
        self.introspection = IntrospectionEndpoint(db, self.client_auth)
