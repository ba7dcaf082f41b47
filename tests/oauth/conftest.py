"""The engine under test, without HTTP: a user and a client written through the repositories,
and the `OAuthServer` built over the test database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from app import clock
from app.config import Settings
from app.db.engine import Database
from app.oauth.clients import AuthenticatedClient, AuthMethod, PresentedCredentials
from app.oauth.scopes import ScopeCatalogue
from app.oauth.secrets import hash_secret, random_alphanumeric
from app.oauth.server import OAuthServer

REDIRECT_URIS = ["https://example.com/cb", "https://example.com/cb2?keep=1"]


@dataclass
class RegisteredClient:
    pk: int
    client_id: str
    client_secret: str

    def post(self) -> PresentedCredentials:
        return PresentedCredentials(self.client_id, self.client_secret, AuthMethod.POST)

    def basic(self) -> PresentedCredentials:
        return PresentedCredentials(self.client_id, self.client_secret, AuthMethod.BASIC)

    def authenticated(self, scope: str = "profile:read workouts:read") -> AuthenticatedClient:
        return AuthenticatedClient(
            pk=self.pk,
            client_id=self.client_id,
            scope=frozenset(scope.split()),
            redirect_uris=tuple(REDIRECT_URIS),
        )


@dataclass
class World:
    db: Database
    settings: Settings
    server: OAuthServer
    user_id: int
    client: RegisteredClient
    other_client: RegisteredClient

    def server_with(self, **changes: object) -> OAuthServer:
        """The engine under other settings (PKCE policy, lifetimes, FitTrackee version)."""
        settings = self.settings.model_copy(update=changes)
        return OAuthServer(
            self.db, settings, ScopeCatalogue.for_version(settings.fittrackee_version)
        )


async def add_client(
    db: Database, user_id: int, scope: str = "profile:read workouts:read"
) -> RegisteredClient:
    secret = random_alphanumeric(48)
    async with db.transaction() as storage:
        row = await storage.clients.create(
            user_id=user_id,
            client_id=random_alphanumeric(24),
            client_secret_hash=hash_secret(secret),
            name="Engine test app",
            website="https://example.com",
            description=None,
            redirect_uris=REDIRECT_URIS,
            scope=scope,
            now=clock.utcnow(),
        )
    return RegisteredClient(pk=row["id"], client_id=row["client_id"], client_secret=secret)


@pytest.fixture
async def world(app: FastAPI, settings: Settings) -> World:
    db: Database = app.state.services.db
    async with db.transaction() as storage:
        user_id = await storage.users.create(
            username="alice",
            email="alice@example.com",
            password_hash="not used by the engine",
            now=clock.utcnow(),
        )
    return World(
        db=db,
        settings=settings,
        server=OAuthServer(db, settings, ScopeCatalogue.for_version(settings.fittrackee_version)),
        user_id=user_id,
        client=await add_client(db, user_id),
        other_client=await add_client(db, user_id),
    )
