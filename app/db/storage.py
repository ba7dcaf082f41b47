"""`Storage`: every repository over one connection, so a transaction spans all of them."""

from __future__ import annotations

from app.db.repositories import Connection
from app.db.repositories.clients import ClientRepository
from app.db.repositories.codes import CodeRepository
from app.db.repositories.tokens import TokenRepository
from app.db.repositories.users import RevokedUserTokenRepository, UserRepository


class Storage:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.users = UserRepository(conn)
        self.revoked_user_tokens = RevokedUserTokenRepository(conn)
        self.clients = ClientRepository(conn)
        self.codes = CodeRepository(conn)
        self.tokens = TokenRepository(conn)
