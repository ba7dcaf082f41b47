"""`Storage`: every repository of one process, over its `Database`. It is the OAuth2 engine's
`OAuthStore` (`app.oauth.ports`: `clients`, `codes`, `tokens`, `consents`) and what the
accounts and apps services use."""

from __future__ import annotations

from app.db.engine import Database
from app.db.repositories.authorized_apps import AuthorizedAppRepository
from app.db.repositories.clients import ClientRepository
from app.db.repositories.codes import CodeRepository
from app.db.repositories.consents import ConsentRepository
from app.db.repositories.maintenance import MaintenanceRepository
from app.db.repositories.tokens import TokenRepository
from app.db.repositories.users import RevokedUserTokenRepository, UserRepository
from app.db.repositories.web_sessions import WebSessionRepository


class Storage:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.users = UserRepository(db)
        self.revoked_user_tokens = RevokedUserTokenRepository(db)
        self.clients = ClientRepository(db)
        self.codes = CodeRepository(db)
        self.tokens = TokenRepository(db)
        self.consents = ConsentRepository(db)
        self.maintenance = MaintenanceRepository(db)
        self.web_sessions = WebSessionRepository(db)
        self.authorized_apps = AuthorizedAppRepository(db)
