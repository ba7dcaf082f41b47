"""The engine under test, without HTTP and without a database: `OAuthServer` over the
in-memory store (`app.oauth.memory_store`), which passes the same contract as the SQL
repositories (`tests/db/test_store_contract.py`)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app import clock
from app.config import Settings
from app.oauth.clients import AuthenticatedClient, AuthMethod, PresentedCredentials
from app.oauth.memory_store import MemoryStore
from app.oauth.scopes import ScopeCatalogue
from app.oauth.secrets import hash_secret, random_alphanumeric
from app.oauth.server import OAuthServer
from tests.helpers import TEST_SECRET_KEY

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
    store: MemoryStore
    settings: Settings
    server: OAuthServer
    user_id: int
    client: RegisteredClient
    other_client: RegisteredClient

    def server_with(self, **changes: object) -> OAuthServer:
        """The engine under other settings (PKCE policy, lifetimes, FitTrackee version)."""
        settings = self.settings.model_copy(update=changes)
        return OAuthServer(
            self.store, settings, ScopeCatalogue.for_version(settings.fittrackee_version)
        )


def add_client(store: MemoryStore, scope: str = "profile:read workouts:read") -> RegisteredClient:
    secret = random_alphanumeric(48)
    client = store.add_client(
        client_id=random_alphanumeric(24),
        client_secret_hash=hash_secret(secret),
        scope=scope,
        redirect_uris=REDIRECT_URIS,
        name="Engine test app",
    )
    return RegisteredClient(pk=client.pk, client_id=client.client_id, client_secret=secret)


@pytest.fixture
def settings() -> Settings:
    """The engine's settings (no database is opened here)."""
    return Settings(app_env="test", secret_key=TEST_SECRET_KEY)


@pytest.fixture
def world(settings: Settings) -> World:
    store = MemoryStore()
    user = store.add_user("alice", now=clock.utcnow())
    return World(
        store=store,
        settings=settings,
        server=OAuthServer(
            store, settings, ScopeCatalogue.for_version(settings.fittrackee_version)
        ),
        user_id=user.id,
        client=add_client(store),
        other_client=add_client(store),
    )
