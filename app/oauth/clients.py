"""Client authentication at the token and revocation endpoints: the one place it happens.

RFC 6749 §2.3.1 gives confidential clients two ways to present their password: HTTP Basic
(`client_secret_basic`) and the request body (`client_secret_post`). The HTTP layer only
extracts what was presented (`app.api.client_credentials`); this module decides.
"""

from __future__ import annotations

import hmac
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from app.oauth.errors import InvalidClient
from app.oauth.ports import ClientStore
from app.oauth.secrets import CLIENT_ID_LENGTH, hash_secret

# Compared against when the client_id is unknown, so that an unknown client and a wrong
# secret cost the same time (no client_id enumeration by timing).
_NO_SUCH_CLIENT_HASH = hash_secret("no such client")
MAX_CLIENT_ID = 2 * CLIENT_ID_LENGTH
MAX_CLIENT_SECRET = 512


def plausible_client_id(value: str) -> bool:
    """Worth a query: not empty, no longer than the client_ids we issue allow for, and free of
    NUL (which PostgreSQL text cannot hold)."""
    return 0 < len(value) <= MAX_CLIENT_ID and "\x00" not in value


class AuthMethod(StrEnum):
    """RFC 7591 §2 names of the two methods."""

    BASIC = "client_secret_basic"
    POST = "client_secret_post"


@dataclass(frozen=True, slots=True)
class PresentedCredentials:
    """What the client sent, and how, and from which IP address; not yet checked."""

    client_id: str
    client_secret: str
    method: AuthMethod
    ip: str = ""

    @property
    def used_basic(self) -> bool:
        return self.method is AuthMethod.BASIC


@dataclass(frozen=True, slots=True)
class AuthenticatedClient:
    """A client whose secret matched: what the grants need of it."""

    pk: int
    client_id: str
    scope: frozenset[str]
    redirect_uris: tuple[str, ...]


class SecretAttempt(Protocol):
    def succeeded(self) -> None: ...


class BruteForceGuard(Protocol):
    """Counts an attempt before its secret is checked, and refuses it (raising) past a limit
    (RFC 6749 §2.3.1: protect client secrets against brute force). `app.ratelimit`'s."""

    def client_attempt(
        self, ip: str, client_id: str
    ) -> AbstractAsyncContextManager[SecretAttempt]: ...


class ClientAuthenticator:
    def __init__(self, clients: ClientStore, guard: BruteForceGuard | None = None) -> None:
        self._clients = clients
        self._guard = guard

    async def authenticate(self, credentials: PresentedCredentials | None) -> AuthenticatedClient:
        """The client, or InvalidClient (401; with `WWW-Authenticate: Basic` when the client
        used the Authorization header, RFC 6749 §5.2).

        One lookup by client_id; the secret is a SHA-256 hash compared in constant time
        (`hmac.compare_digest`), never a slow password hash. With a guard, the attempt is
        counted before the check and the guard told when the secret matched.
        """
        if credentials is None:
            raise InvalidClient()
        used_basic = credentials.used_basic
        if not plausible_client_id(credentials.client_id) or (
            len(credentials.client_secret) > MAX_CLIENT_SECRET
        ):
            raise InvalidClient(used_basic=used_basic)
        if self._guard is None:
            return await self._check(credentials)
        async with self._guard.client_attempt(credentials.ip, credentials.client_id) as attempt:
            client = await self._check(credentials)
            attempt.succeeded()
        return client

    async def _check(self, credentials: PresentedCredentials) -> AuthenticatedClient:
        client = await self._clients.by_client_id(client_id=credentials.client_id)
        stored = client.client_secret_hash if client is not None else _NO_SUCH_CLIENT_HASH
        matches = hmac.compare_digest(hash_secret(credentials.client_secret), stored)
        if client is None or not matches:
            raise InvalidClient(used_basic=credentials.used_basic)
        return AuthenticatedClient(
            pk=client.pk,
            client_id=client.client_id,
            scope=frozenset(client.scope.split()),
            redirect_uris=tuple(client.redirect_uris),
        )
