"""The engine's three endpoints, built once per process over one database."""

from __future__ import annotations

from app.config import Settings
from app.db.engine import Database
from app.oauth.authorize import AuthorizationEndpoint
from app.oauth.clients import ClientAuthenticator
from app.oauth.grants.authorization_code import AuthorizationCodeGrant
from app.oauth.grants.refresh_token import RefreshTokenGrant
from app.oauth.revocation import RevocationEndpoint
from app.oauth.token import TokenEndpoint


class OAuthServer:
    """`authorization` (RFC 6749 §4.1.1), `token` (§3.2) and `revocation` (RFC 7009), with
    `client_auth` shared by the last two."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.client_auth = ClientAuthenticator(db)
        self.authorization = AuthorizationEndpoint(db, settings)
        self.token = TokenEndpoint(
            self.client_auth,
            AuthorizationCodeGrant(db, settings),
            RefreshTokenGrant(db, settings),
        )
        self.revocation = RevocationEndpoint(db, self.client_auth)
