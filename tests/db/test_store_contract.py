"""The contract of the engine's storage ports (`app.oauth.ports`), run against every store:
the in-memory one the engine's unit tests use, and the SQL repositories on this run's
database (SQLite, or PostgreSQL with DATABASE_URL). Only the ports are used to look, so what
is checked is what the engine can see."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app import clock
from app.db.models import User
from app.db.storage import Storage
from app.oauth.memory_store import MemoryStore
from app.oauth.ports import ClientRecord, NewPair, OAuthStore, SpentCode
from app.oauth.secrets import hash_secret

SCOPE = "profile:read workouts:read"
REDIRECT_URIS = ["https://example.com/cb"]


class MemoryScene:
    """Sets the scene in a `MemoryStore`."""

    def __init__(self) -> None:
        self.memory = MemoryStore()
        self.store: OAuthStore = self.memory

    async def add_user(self, username: str) -> int:
        return self.memory.add_user(username, now=clock.utcnow()).id

    async def add_client(self, user_id: int, scope: str = SCOPE) -> ClientRecord:
        return self.memory.add_client(
            client_id=secrets.token_hex(12),
            client_secret_hash=hash_secret("secret"),
            scope=scope,
            redirect_uris=REDIRECT_URIS,
        )

    async def delete_client(self, user_id: int, pk: int) -> None:
        self.memory.delete_client(pk)

    async def deactivate(self, user_id: int) -> None:
        self.memory.deactivate_user(user_id)


class DatabaseScene:
    """Sets the scene through the repositories (and SQL where no repository writes it)."""

    def __init__(self, app: FastAPI) -> None:
        self.db = app.state.services.db
        self.storage = Storage(self.db)
        self.store: OAuthStore = self.storage

    async def add_user(self, username: str) -> int:
        return await self.storage.users.create(
            username=username,
            email=f"{username}@example.com",
            password_hash="not used here",
            now=clock.utcnow(),
        )

    async def add_client(self, user_id: int, scope: str = SCOPE) -> ClientRecord:
        created = await self.storage.clients.create(
            user_id=user_id,
            client_id=secrets.token_hex(12),
            client_secret_hash=hash_secret("secret"),
            name="Contract app",
            website="https://example.com",
            description=None,
            redirect_uris=REDIRECT_URIS,
            scope=scope,
            now=clock.utcnow(),
        )
        found = await self.storage.clients.by_client_id(client_id=created.client_id)
        assert found is not None
        return found

    async def delete_client(self, user_id: int, pk: int) -> None:
        assert await self.storage.clients.delete_owned(user_id=user_id, pk=pk)

    async def deactivate(self, user_id: int) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(update(User).where(User.id == user_id).values(is_active=False))


Scene = MemoryScene | DatabaseScene


@pytest.fixture(params=["memory", "database"])
def scene(request: pytest.FixtureRequest, app: FastAPI) -> Scene:
    return MemoryScene() if request.param == "memory" else DatabaseScene(app)


def new_pair(now: datetime, lifetime: int = 3600) -> NewPair:
    return NewPair(
        access_token_hash=hash_secret(secrets.token_hex(16)),
        refresh_token_hash=hash_secret(secrets.token_hex(16)),
        issued_at=now,
        access_expires_at=now + timedelta(seconds=lifetime),
        refresh_expires_at=now + timedelta(seconds=2 * lifetime),
    )


@dataclass
class Issued:
    """A pair issued from a code, and what it was issued for."""

    code_hash: str
    user_id: int
    family_id: str
    pair: NewPair


@dataclass
class World:
    scene: Scene
    store: OAuthStore
    user_id: int
    client: ClientRecord
    other: ClientRecord

    async def code(self, client: ClientRecord | None = None, **fields: Any) -> str:
        client = client or self.client
        code_hash = hash_secret(secrets.token_hex(16))
        now = clock.utcnow()
        values: dict[str, Any] = {
            "scope": client.scope,
            "redirect_uri": None,
            "code_challenge": None,
            "code_challenge_method": None,
            "created_at": now,
            "expires_at": now + timedelta(seconds=300),
            **fields,
        }
        created = await self.store.codes.create(
            code_hash=code_hash, client_pk=client.pk, user_id=self.user_id, **values
        )
        assert created
        return code_hash

    async def redeem(
        self,
        code_hash: str,
        client: ClientRecord | None = None,
        pair: NewPair | None = None,
        family_id: str | None = None,
    ) -> tuple[SpentCode | None, NewPair]:
        pair = pair or new_pair(clock.utcnow())
        spent = await self.store.tokens.redeem_code_and_issue(
            code_hash=code_hash,
            client_pk=(client or self.client).pk,
            now=clock.utcnow(),
            family_id=family_id or secrets.token_hex(16),
            pair=pair,
        )
        return spent, pair

    async def issued(self) -> Issued:
        code_hash, family_id = await self.code(), secrets.token_hex(16)
        spent, pair = await self.redeem(code_hash, family_id=family_id)
        assert spent is not None
        return Issued(code_hash, spent.user_id, family_id, pair)

    async def rotate(
        self,
        refresh_token_hash: str,
        client: ClientRecord | None = None,
        scope: Callable[[str], str] | None = None,
        now: datetime | None = None,
    ) -> tuple[str | None, NewPair]:
        now = now or clock.utcnow()
        successor = new_pair(now)
        granted = await self.store.tokens.rotate_and_issue(
            refresh_token_hash=refresh_token_hash,
            client_pk=(client or self.client).pk,
            now=now,
            successor=successor,
            scope=scope,
        )
        return granted, successor

    async def live(self, pair: NewPair) -> bool:
        found = await self.store.tokens.access_with_user(access_token_hash=pair.access_token_hash)
        return found is not None and found.revoked_at is None

    async def exists(self, pair: NewPair) -> bool:
        found = await self.store.tokens.for_introspection(token_hash=pair.access_token_hash)
        return found is not None


@pytest.fixture
async def world(scene: Scene) -> World:
    user_id = await scene.add_user("alice")
    client = await scene.add_client(user_id)
    other = await scene.add_client(user_id)
    return World(scene, scene.store, user_id, client, other)


# --- clients ---------------------------------------------------------------------------------


async def test_a_client_is_found_by_its_client_id(world: World) -> None:
    found = await world.store.clients.by_client_id(client_id=world.client.client_id)
    assert found == world.client
    assert found.client_secret_hash == hash_secret("secret")
    assert list(found.redirect_uris) == REDIRECT_URIS
    assert found.scope == SCOPE
    assert await world.store.clients.by_client_id(client_id="nope") is None


# --- codes -----------------------------------------------------------------------------------


async def test_a_code_is_spent_once_and_gives_back_what_it_was_issued_with(world: World) -> None:
    now = clock.utcnow()
    expires = now + timedelta(seconds=300)
    code_hash = await world.code(
        scope="profile:read",
        redirect_uri="https://example.com/cb",
        code_challenge="c" * 43,
        code_challenge_method="S256",
        expires_at=expires,
    )
    spent, pair = await world.redeem(code_hash)
    assert spent is not None
    assert (spent.client_pk, spent.user_id, spent.scope) == (
        world.client.pk,
        world.user_id,
        "profile:read",
    )
    assert (spent.redirect_uri, spent.code_challenge, spent.code_challenge_method) == (
        "https://example.com/cb",
        "c" * 43,
        "S256",
    )
    assert spent.expires_at == expires
    token = await world.store.tokens.access_with_user(access_token_hash=pair.access_token_hash)
    assert token is not None
    assert (token.user.id, token.client_pk, token.scope) == (
        world.user_id,
        world.client.pk,
        "profile:read",
    )
    assert token.expires_at == pair.access_expires_at and token.revoked_at is None

    again, second = await world.redeem(code_hash)
    assert again is None
    assert not await world.exists(second)  # nothing stored for a code that was not spent


async def test_a_replayed_code_revokes_what_it_issued_rotations_included(world: World) -> None:
    issued = await world.issued()
    scope, successor = await world.rotate(issued.pair.refresh_token_hash)
    assert scope == SCOPE
    other = await world.issued()
    assert await world.live(successor)

    now = clock.utcnow()
    revoked = await world.store.tokens.revoke_issued_from_code(code_hash=issued.code_hash, now=now)
    assert revoked == 1  # the successor; the rotated pair was revoked already
    assert not await world.live(successor)
    assert await world.live(other.pair)
    assert (
        await world.store.tokens.revoke_issued_from_code(code_hash=issued.code_hash, now=now) == 0
    )
    unknown = hash_secret("unknown code")
    assert await world.store.tokens.revoke_issued_from_code(code_hash=unknown, now=now) == 0


async def test_an_unspent_code_revokes_nothing(world: World) -> None:
    code_hash = await world.code()
    other = await world.issued()
    now = clock.utcnow()
    assert await world.store.tokens.revoke_issued_from_code(code_hash=code_hash, now=now) == 0
    assert await world.live(other.pair)
    spent, _ = await world.redeem(code_hash)
    assert spent is not None  # still spendable


async def test_another_clients_code_is_spent_but_issues_nothing(world: World) -> None:
    code_hash = await world.code()
    spent, pair = await world.redeem(code_hash, client=world.other)
    assert spent is not None and spent.client_pk == world.client.pk  # the engine refuses it
    assert not await world.exists(pair)
    again, _ = await world.redeem(code_hash)
    assert again is None


async def test_withdraw_removes_the_pair_of_a_code_that_failed_its_checks(world: World) -> None:
    issued = await world.issued()
    kept = await world.issued()
    await world.store.tokens.withdraw(user_id=issued.user_id, family_id=issued.family_id)
    assert not await world.exists(issued.pair)
    assert await world.live(kept.pair)


async def test_concurrent_redemptions_of_one_code_have_one_winner(world: World) -> None:
    code_hash = await world.code()
    results = await asyncio.gather(*(world.redeem(code_hash) for _ in range(10)))
    winners = [pair for spent, pair in results if spent is not None]
    assert len(winners) == 1
    for spent, pair in results:
        assert await world.exists(pair) == (spent is not None)


# --- rotation --------------------------------------------------------------------------------


async def test_rotation_spends_the_pair_once_and_keeps_the_family(world: World) -> None:
    issued = await world.issued()
    scope, successor = await world.rotate(issued.pair.refresh_token_hash)
    assert scope == SCOPE
    assert not await world.live(issued.pair)  # the old pair is revoked with its rotation
    assert await world.live(successor)
    old = await world.store.tokens.for_introspection(token_hash=issued.pair.access_token_hash)
    new = await world.store.tokens.for_introspection(token_hash=successor.access_token_hash)
    assert old is not None and new is not None
    assert (new.user_id, new.client_pk, new.scope) == (old.user_id, old.client_pk, old.scope)

    again, never = await world.rotate(issued.pair.refresh_token_hash)
    assert again is None
    assert not await world.exists(never)


async def test_a_reused_refresh_token_revokes_its_family_only(world: World) -> None:
    issued = await world.issued()
    _, successor = await world.rotate(issued.pair.refresh_token_hash)
    bystander = await world.issued()
    tokens, now = world.store.tokens, clock.utcnow()

    live = successor.refresh_token_hash
    assert (
        await tokens.revoke_family(refresh_token_hash=live, client_pk=world.client.pk, now=now) == 0
    )
    reused = issued.pair.refresh_token_hash
    assert (
        await tokens.revoke_family(refresh_token_hash=reused, client_pk=world.other.pk, now=now)
        == 0
    )  # another client's presentation revokes nothing
    assert await world.live(successor)
    assert (
        await tokens.revoke_family(refresh_token_hash=reused, client_pk=world.client.pk, now=now)
        == 1
    )
    assert not await world.live(successor)
    assert await world.live(bystander.pair)
    scope, _ = await world.rotate(successor.refresh_token_hash)
    assert scope is None


async def test_a_long_family_is_revoked_whole_from_any_of_its_rotated_tokens(
    world: World,
) -> None:
    """Rotated 40 times, then the first, a middle and the last-but-one rotated refresh token
    presented again: the first presentation revokes the family's one live pair, the later
    ones find nothing left to revoke; the code's replay too."""
    issued = await world.issued()
    chain = [issued.pair]
    for _ in range(40):
        scope, successor = await world.rotate(chain[-1].refresh_token_hash)
        assert scope == SCOPE
        chain.append(successor)
    assert [await world.live(pair) for pair in chain] == [False] * 40 + [True]

    tokens, now, client_pk = world.store.tokens, clock.utcnow(), world.client.pk
    counts = [
        await tokens.revoke_family(
            refresh_token_hash=pair.refresh_token_hash, client_pk=client_pk, now=now
        )
        for pair in (chain[20], chain[0], chain[39])
    ]
    assert counts == [1, 0, 0]
    assert not any([await world.live(pair) for pair in chain])
    assert await tokens.revoke_issued_from_code(code_hash=issued.code_hash, now=now) == 0


async def test_a_replayed_code_revokes_the_live_end_of_a_long_family(world: World) -> None:
    issued = await world.issued()
    newest = issued.pair
    for _ in range(25):
        _, newest = await world.rotate(newest.refresh_token_hash)
    now = clock.utcnow()
    assert (
        await world.store.tokens.revoke_issued_from_code(code_hash=issued.code_hash, now=now) == 1
    )
    assert not await world.live(newest)


async def test_a_narrower_scope_is_the_successors(world: World) -> None:
    issued = await world.issued()
    seen: list[str] = []

    def narrower(held: str) -> str:
        seen.append(held)
        return "workouts:read"

    scope, successor = await world.rotate(issued.pair.refresh_token_hash, scope=narrower)
    assert (scope, seen) == ("workouts:read", [SCOPE])
    token = await world.store.tokens.access_with_user(access_token_hash=successor.access_token_hash)
    assert token is not None and token.scope == "workouts:read"


async def test_a_scope_refused_while_rotating_changes_nothing(world: World) -> None:
    issued = await world.issued()

    class Refused(Exception):
        pass

    def refuse(_held: str) -> str:
        raise Refused

    successor = new_pair(clock.utcnow())
    with pytest.raises(Refused):
        await world.store.tokens.rotate_and_issue(
            refresh_token_hash=issued.pair.refresh_token_hash,
            client_pk=world.client.pk,
            now=clock.utcnow(),
            successor=successor,
            scope=refuse,
        )
    assert await world.live(issued.pair)
    assert not await world.exists(successor)
    scope, _ = await world.rotate(issued.pair.refresh_token_hash)
    assert scope == SCOPE


async def test_only_a_live_refresh_token_of_its_own_client_rotates(world: World) -> None:
    issued = await world.issued()
    scope, _ = await world.rotate(issued.pair.refresh_token_hash, client=world.other)
    assert scope is None
    assert await world.live(issued.pair)
    late = issued.pair.refresh_expires_at + timedelta(seconds=1)
    scope, _ = await world.rotate(issued.pair.refresh_token_hash, now=late)
    assert scope is None
    scope, _ = await world.rotate(issued.pair.access_token_hash)  # not a refresh token
    assert scope is None
    await world.store.tokens.revoke(
        token_hash=issued.pair.access_token_hash, client_pk=world.client.pk, now=clock.utcnow()
    )
    scope, _ = await world.rotate(issued.pair.refresh_token_hash)
    assert scope is None


async def test_concurrent_rotations_of_one_token_have_one_winner(world: World) -> None:
    issued = await world.issued()
    results = await asyncio.gather(
        *(world.rotate(issued.pair.refresh_token_hash) for _ in range(10))
    )
    winners = [successor for scope, successor in results if scope is not None]
    assert len(winners) == 1
    for scope, successor in results:
        assert await world.exists(successor) == (scope is not None)


# --- revocation and introspection ------------------------------------------------------------


@pytest.mark.parametrize("which", ["access_token_hash", "refresh_token_hash"])
async def test_revoking_either_token_revokes_the_pair_once(world: World, which: str) -> None:
    issued = await world.issued()
    other = await world.issued()
    token_hash = getattr(issued.pair, which)
    revoke = world.store.tokens.revoke
    now = clock.utcnow()
    assert await revoke(token_hash=token_hash, client_pk=world.other.pk, now=now) == 0
    assert await world.live(issued.pair)
    assert await revoke(token_hash=token_hash, client_pk=world.client.pk, now=now) == 1
    assert not await world.live(issued.pair)
    assert await revoke(token_hash=token_hash, client_pk=world.client.pk, now=now) == 0
    assert await revoke(token_hash=hash_secret("unknown"), client_pk=world.client.pk, now=now) == 0
    assert await world.live(other.pair)
    scope, _ = await world.rotate(issued.pair.refresh_token_hash)
    assert scope is None


async def test_introspection_finds_the_pair_by_either_token_whatever_its_state(
    world: World,
) -> None:
    issued = await world.issued()
    tokens = world.store.tokens
    by_access = await tokens.for_introspection(token_hash=issued.pair.access_token_hash)
    by_refresh = await tokens.for_introspection(token_hash=issued.pair.refresh_token_hash)
    assert by_access is not None and by_refresh is not None
    assert by_access.is_access and not by_refresh.is_access
    assert (by_access.client_pk, by_access.client_id) == (world.client.pk, world.client.client_id)
    assert (by_access.user_id, by_access.username, by_access.user_is_active) == (
        world.user_id,
        "alice",
        True,
    )
    assert by_access.issued_at == issued.pair.issued_at
    assert by_access.access_expires_at == issued.pair.access_expires_at
    assert by_access.refresh_expires_at == issued.pair.refresh_expires_at
    assert by_access.revoked_at is None
    now = clock.utcnow()
    await tokens.revoke(
        token_hash=issued.pair.access_token_hash, client_pk=world.client.pk, now=now
    )
    revoked = await tokens.for_introspection(token_hash=issued.pair.refresh_token_hash)
    assert revoked is not None and revoked.revoked_at == now
    assert await tokens.for_introspection(token_hash=hash_secret("unknown")) is None


async def test_an_inactive_users_tokens_do_not_open_resources(world: World) -> None:
    issued = await world.issued()
    await world.scene.deactivate(world.user_id)
    assert (
        await world.store.tokens.access_with_user(access_token_hash=issued.pair.access_token_hash)
        is None
    )
    found = await world.store.tokens.for_introspection(token_hash=issued.pair.access_token_hash)
    assert found is not None and not found.user_is_active


# --- a deleted client ------------------------------------------------------------------------


async def test_a_deleted_client_gets_nothing_issued_and_keeps_nothing(world: World) -> None:
    issued = await world.issued()
    code_hash = await world.code()
    pk = world.client.pk
    await world.scene.delete_client(world.user_id, pk)

    assert not await world.exists(issued.pair)  # its tokens went with it
    spent, pair = await world.redeem(code_hash)
    assert spent is None and not await world.exists(pair)
    scope, _ = await world.rotate(issued.pair.refresh_token_hash)
    assert scope is None
    now = clock.utcnow()
    created = await world.store.codes.create(
        code_hash=hash_secret("after the deletion"),
        client_pk=pk,
        user_id=world.user_id,
        scope=SCOPE,
        redirect_uri=None,
        code_challenge=None,
        code_challenge_method=None,
        created_at=now,
        expires_at=now + timedelta(seconds=300),
    )
    assert created is False


async def test_a_code_presented_by_a_deleted_client_stays_unspent(world: World) -> None:
    code_hash = await world.code()
    await world.scene.delete_client(world.user_id, world.other.pk)
    spent, _ = await world.redeem(code_hash, client=world.other)
    assert spent is None
    spent, pair = await world.redeem(code_hash)
    assert spent is not None and await world.live(pair)


# --- remembered consents ---------------------------------------------------------------------


async def test_a_consent_is_remembered_per_user_and_client_and_grows(world: World) -> None:
    consents, pk, now = world.store.consents, world.client.pk, clock.utcnow()
    assert await consents.granted_scope(user_id=world.user_id, client_pk=pk) is None
    remembered = await consents.remember(
        user_id=world.user_id, client_pk=pk, scope="workouts:read", now=now
    )
    assert remembered == "workouts:read"
    # A wider approval adds to it, in canonical order; a narrower one takes nothing away.
    wider = await consents.remember(
        user_id=world.user_id, client_pk=pk, scope="workouts:read profile:read", now=now
    )
    assert wider == "profile:read workouts:read"
    narrower = await consents.remember(
        user_id=world.user_id, client_pk=pk, scope="profile:read", now=now
    )
    assert narrower == "profile:read workouts:read"
    assert await consents.granted_scope(user_id=world.user_id, client_pk=pk) == wider
    # Nothing for the user's other client, nor for another user of this one.
    assert await consents.granted_scope(user_id=world.user_id, client_pk=world.other.pk) is None
    bob = await world.scene.add_user("bob")
    assert await consents.granted_scope(user_id=bob, client_pk=pk) is None


async def test_concurrent_approvals_lose_no_scope(world: World) -> None:
    consents, pk, now = world.store.consents, world.client.pk, clock.utcnow()
    scopes = ["profile:read", "workouts:read", "workouts:write", "profile:write"]
    results = await asyncio.gather(
        *(
            consents.remember(user_id=world.user_id, client_pk=pk, scope=scope, now=now)
            for scope in scopes
        )
    )
    everything = "profile:read profile:write workouts:read workouts:write"
    assert await consents.granted_scope(user_id=world.user_id, client_pk=pk) == everything
    assert everything in results  # the last one to write saw all of them
    for scope, result in zip(scopes, results, strict=True):
        assert result is not None and scope in result.split()


async def test_a_deleted_client_is_remembered_no_more(world: World) -> None:
    consents, pk, now = world.store.consents, world.client.pk, clock.utcnow()
    assert await consents.remember(user_id=world.user_id, client_pk=pk, scope=SCOPE, now=now)
    await world.scene.delete_client(world.user_id, pk)
    assert await consents.granted_scope(user_id=world.user_id, client_pk=pk) is None
    assert (
        await consents.remember(user_id=world.user_id, client_pk=pk, scope=SCOPE, now=now) is None
    )
    assert await consents.granted_scope(user_id=world.user_id, client_pk=pk) is None
