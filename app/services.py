"""Everything a request needs, built once per process and kept on `app.state.services`."""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts.passwords import PasswordHasher
from app.accounts.service import Accounts
from app.accounts.user_tokens import UserTokenCodec
from app.accounts.web_sessions import WebSessions
from app.clients.metadata import RegistrationRules
from app.config import Settings
from app.db.engine import Database
from app.db.storage import Storage
from app.oauth.scopes import ScopeCatalogue
from app.oauth.server import OAuthServer
from app.ratelimit import AuthRateLimits


@dataclass
class Services:
    settings: Settings
    db: Database
    storage: Storage
    user_tokens: UserTokenCodec
    accounts: Accounts
    scopes: ScopeCatalogue
    client_rules: RegistrationRules
    oauth: OAuthServer
    rate_limits: AuthRateLimits
    web_sessions: WebSessions

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> Services:
        """The server's services; `db` defaults to the server's `Database` (the asyncpg
        lane on PostgreSQL). The command line passes its own (`Database.for_tools`)."""
        db = db or Database.for_server(settings)
        storage = Storage(db)
        codec = UserTokenCodec(settings.signing_key(), settings.user_token_lifetime)
        hasher = PasswordHasher(settings)
        rate_limits = AuthRateLimits.from_settings(settings)
        scopes = ScopeCatalogue.for_version(settings.fittrackee_version)
        return cls(
            settings=settings,
            db=db,
            storage=storage,
            user_tokens=codec,
            accounts=Accounts(storage, hasher, codec),
            scopes=scopes,
            client_rules=RegistrationRules.from_settings(settings, scopes),
            oauth=OAuthServer(storage, settings, scopes, rate_limits),
            rate_limits=rate_limits,
            web_sessions=WebSessions(storage.web_sessions, settings),
        )
