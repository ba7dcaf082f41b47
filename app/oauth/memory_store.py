"""The engine's storage ports in memory (as fosite's `storage/memory.go`): for the engine's
unit tests, which need no database, and as a statement of the contract in plain Python. The
SQL repositories pass the same contract tests (`tests/db/test_store_contract.py`).

Each port method runs to its end without awaiting anything, so on one event loop it is
atomic, as each is in the database: of concurrent spends of one code or refresh token
exactly one wins. Rows are kept as the tables keep them (hashes only), in `MemoryStore`'s
dictionaries, where tests read them. Nothing here is for a server: it forgets everything with
its process and is shared by no other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from app.accounts.profile import UserProfile
from app.oauth.ports import (
    AccessToken,
    ClientRecord,
    IntrospectedToken,
    NewPair,
    SpentCode,
)
from app.oauth.scopes import scope_union


@dataclass
class StoredCode:
    id: int
    code_hash: str
    client_pk: int
    user_id: int
    scope: str
    redirect_uri: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    family_id: str | None = None


@dataclass
class StoredPair:
    id: int
    access_token_hash: str
    refresh_token_hash: str
    client_pk: int
    user_id: int
    family_id: str
    scope: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime
    revoked_at: datetime | None = None
    rotated_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.revoked_at is None


@dataclass
class StoredConsent:
    scope: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Tables:
    """The rows, by primary key; ids count up from 1 as the databases' do."""

    users: dict[int, UserProfile] = field(default_factory=dict)
    clients: dict[int, ClientRecord] = field(default_factory=dict)
    codes: dict[int, StoredCode] = field(default_factory=dict)
    pairs: dict[int, StoredPair] = field(default_factory=dict)
    consents: dict[tuple[int, int], StoredConsent] = field(default_factory=dict)  # (user, client)
    last_id: int = 0

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def pair_by(
        self, *, access: str | None = None, refresh: str | None = None
    ) -> StoredPair | None:
        for pair in self.pairs.values():
            if access is not None and pair.access_token_hash == access:
                return pair
            if refresh is not None and pair.refresh_token_hash == refresh:
                return pair
        return None

    def code_by(self, code_hash: str) -> StoredCode | None:
        return next((c for c in self.codes.values() if c.code_hash == code_hash), None)

    def store_pair(
        self,
        pair: NewPair,
        *,
        client_pk: int,
        user_id: int,
        family_id: str,
        scope: str,
    ) -> None:
        pk = self.next_id()
        self.pairs[pk] = StoredPair(
            id=pk,
            access_token_hash=pair.access_token_hash,
            refresh_token_hash=pair.refresh_token_hash,
            client_pk=client_pk,
            user_id=user_id,
            family_id=family_id,
            scope=scope,
            issued_at=pair.issued_at,
            access_expires_at=pair.access_expires_at,
            refresh_expires_at=pair.refresh_expires_at,
        )


class MemoryClients:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def by_client_id(self, *, client_id: str) -> ClientRecord | None:
        return next((c for c in self._tables.clients.values() if c.client_id == client_id), None)


class MemoryCodes:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def create(
        self,
        *,
        code_hash: str,
        client_pk: int,
        user_id: int,
        scope: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
        created_at: datetime,
        expires_at: datetime,
    ) -> bool:
        if client_pk not in self._tables.clients:
            return False
        pk = self._tables.next_id()
        self._tables.codes[pk] = StoredCode(
            id=pk,
            code_hash=code_hash,
            client_pk=client_pk,
            user_id=user_id,
            scope=scope,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            created_at=created_at,
            expires_at=expires_at,
        )
        return True


class MemoryTokens:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def access_with_user(self, *, access_token_hash: str) -> AccessToken | None:
        pair = self._tables.pair_by(access=access_token_hash)
        user = self._tables.users.get(pair.user_id) if pair is not None else None
        if pair is None or user is None or not user.is_active:
            return None
        return AccessToken(
            user=user,
            client_pk=pair.client_pk,
            scope=pair.scope,
            expires_at=pair.access_expires_at,
            revoked_at=pair.revoked_at,
        )

    async def redeem_code_and_issue(
        self, *, code_hash: str, client_pk: int, now: datetime, family_id: str, pair: NewPair
    ) -> SpentCode | None:
        code = self._tables.code_by(code_hash)
        if code is None or code.used_at is not None or client_pk not in self._tables.clients:
            return None
        code.used_at = now
        code.family_id = family_id
        if code.client_pk == client_pk:
            self._tables.store_pair(
                pair,
                client_pk=client_pk,
                user_id=code.user_id,
                family_id=family_id,
                scope=code.scope,
            )
        return SpentCode(
            id=code.id,
            client_pk=code.client_pk,
            user_id=code.user_id,
            scope=code.scope,
            redirect_uri=code.redirect_uri,
            code_challenge=code.code_challenge,
            code_challenge_method=code.code_challenge_method,
            expires_at=code.expires_at,
        )

    async def withdraw(self, *, user_id: int, family_id: str) -> None:
        pairs = self._tables.pairs.items()
        for pk in [pk for pk, p in pairs if (p.user_id, p.family_id) == (user_id, family_id)]:
            del self._tables.pairs[pk]

    async def revoke_issued_from_code(self, *, code_hash: str, now: datetime) -> int:
        code = self._tables.code_by(code_hash)
        if code is None or code.used_at is None:
            return 0
        family = (code.user_id, code.family_id)
        return _revoke(
            self._tables.pairs.values(), now, lambda p: (p.user_id, p.family_id) == family
        )

    async def rotate_and_issue(
        self,
        *,
        refresh_token_hash: str,
        client_pk: int,
        now: datetime,
        successor: NewPair,
        scope: Callable[[str], str] | None = None,
    ) -> str | None:
        pair = self._tables.pair_by(refresh=refresh_token_hash)
        if (
            pair is None
            or pair.client_pk != client_pk
            or pair.rotated_at is not None
            or pair.revoked_at is not None
            or pair.refresh_expires_at <= now
            or client_pk not in self._tables.clients
        ):
            return None
        granted = pair.scope if scope is None else scope(pair.scope)  # may raise: no change
        pair.rotated_at = pair.revoked_at = now
        self._tables.store_pair(
            successor,
            client_pk=client_pk,
            user_id=pair.user_id,
            family_id=pair.family_id,
            scope=granted,
        )
        return granted

    async def revoke_family(self, *, refresh_token_hash: str, client_pk: int, now: datetime) -> int:
        pair = self._tables.pair_by(refresh=refresh_token_hash)
        if pair is None or pair.client_pk != client_pk or pair.rotated_at is None:
            return 0
        family = (pair.user_id, pair.family_id)
        return _revoke(
            self._tables.pairs.values(), now, lambda p: (p.user_id, p.family_id) == family
        )

    async def revoke(self, *, token_hash: str, client_pk: int, now: datetime) -> int:
        pair = self._tables.pair_by(access=token_hash, refresh=token_hash)
        if pair is None or pair.client_pk != client_pk or not pair.live:
            return 0
        pair.revoked_at = now
        return 1

    async def for_introspection(self, *, token_hash: str) -> IntrospectedToken | None:
        pair = self._tables.pair_by(access=token_hash, refresh=token_hash)
        if pair is None:
            return None
        client = self._tables.clients[pair.client_pk]
        user = self._tables.users[pair.user_id]
        return IntrospectedToken(
            is_access=pair.access_token_hash == token_hash,
            client_pk=pair.client_pk,
            client_id=client.client_id,
            user_id=user.id,
            username=user.username,
            user_is_active=user.is_active,
            scope=pair.scope,
            issued_at=pair.issued_at,
            access_expires_at=pair.access_expires_at,
            refresh_expires_at=pair.refresh_expires_at,
            revoked_at=pair.revoked_at,
        )


class MemoryConsents:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def granted_scope(self, *, user_id: int, client_pk: int) -> str | None:
        found = self._tables.consents.get((user_id, client_pk))
        return found.scope if found is not None else None

    async def remember(
        self, *, user_id: int, client_pk: int, scope: str, now: datetime
    ) -> str | None:
        if client_pk not in self._tables.clients:
            return None
        found = self._tables.consents.get((user_id, client_pk))
        merged = scope_union(found.scope if found else None, scope)
        if found is None:
            self._tables.consents[(user_id, client_pk)] = StoredConsent(merged, now, now)
        elif merged != found.scope:
            found.scope, found.updated_at = merged, now
        return merged


def _revoke(
    pairs: Iterable[StoredPair], now: datetime, chosen: Callable[[StoredPair], bool]
) -> int:
    revoked = 0
    for pair in pairs:
        if pair.live and chosen(pair):
            pair.revoked_at = now
            revoked += 1
    return revoked


class MemoryStore:
    """`OAuthStore` in memory, with what tests need to set the scene: users and clients in,
    a client deleted (its codes and tokens with it), a user deactivated."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.clients = MemoryClients(self.tables)
        self.codes = MemoryCodes(self.tables)
        self.tokens = MemoryTokens(self.tables)
        self.consents = MemoryConsents(self.tables)

    def add_user(self, username: str, *, now: datetime) -> UserProfile:
        pk = self.tables.next_id()
        user = UserProfile(
            id=pk,
            username=username,
            email=f"{username.lower()}@example.com",
            created_at=now,
            is_active=True,
            accepted_policy_at=now,
            first_name=None,
            last_name=None,
            bio=None,
            location=None,
        )
        self.tables.users[pk] = user
        return user

    def add_client(
        self,
        *,
        client_id: str,
        client_secret_hash: str,
        scope: str,
        redirect_uris: Sequence[str],
        name: str = "Memory app",
        website: str = "https://example.com",
    ) -> ClientRecord:
        pk = self.tables.next_id()
        client = ClientRecord(
            pk=pk,
            client_id=client_id,
            client_secret_hash=client_secret_hash,
            name=name,
            website=website,
            redirect_uris=list(redirect_uris),
            scope=scope,
        )
        self.tables.clients[pk] = client
        return client

    def delete_client(self, pk: int) -> None:
        """As ON DELETE CASCADE: the client's codes, pairs and consents go with it."""
        self.tables.clients.pop(pk, None)
        for code_pk in [k for k, code in self.tables.codes.items() if code.client_pk == pk]:
            del self.tables.codes[code_pk]
        for pair_pk in [k for k, pair in self.tables.pairs.items() if pair.client_pk == pk]:
            del self.tables.pairs[pair_pk]
        for key in [key for key in self.tables.consents if key[1] == pk]:
            del self.tables.consents[key]

    def deactivate_user(self, pk: int) -> None:
        self.tables.users[pk] = replace(self.tables.users[pk], is_active=False)
