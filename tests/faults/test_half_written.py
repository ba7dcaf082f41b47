"""PostgreSQL stopped in the middle of full OAuth2 flows: nothing is left half-written.

A code exchange spends the code and inserts its token pair in one unit of work; a refresh
rotates the old pair and inserts its successor in one unit of work (each one statement on
PostgreSQL, `app/db/repositories/tokens.py`). The
database is stopped (fast shutdown: sessions cut mid-transaction) under a load of both, then
started again. A request cut at the wrong moment may have committed or not, and the client
only saw a 503; so the test asserts what the transactions guarantee either way:

- every answer is 200 or a 503 JSON, within the pool-timeout bound, never a 500 or a hang;
- a code is spent if and only if its token pair exists (one family per code), and every
  token comes from a spent code;
- in every family each rotated pair has exactly one successor, issued at the moment of the
  rotation, and only the newest pair is live (nothing here reuses or revokes a token);
- every 200 the client got is in the database and works; each request that got a 503 left
  either nothing (its code or refresh token still works) or all of its work.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.db.models import AuthorizationCode, Token
from app.db.repositories import tokens as token_steps
from app.main import create_app as create_fastapi_app
from app.oauth.secrets import hash_secret
from tests.faults.conftest import (
    database_outage,
    healthy_again,
    pg_ready,
    unavailable_body,
    wait_healthy,
)
from tests.helpers import (
    TEST_SECRET_KEY,
    authorize,
    bearer,
    code_from,
    create_app,
    exchange_code,
    issue_tokens,
    pkce_pair,
    refresh_tokens,
    user_token,
)
from tests.live_server import live_server

pytestmark = pytest.mark.faults

WORKERS = 2
FLOWS = 4  # tasks doing authorize + code exchange over and over
CHAINS = 4  # tasks refreshing one pair over and over (a new pair when a refresh fails)
POOL_TIMEOUT = 5.0  # the default DB_POOL_TIMEOUT
# One failing database call waits at most DB_POOL_TIMEOUT for a connection (a free one or a
# new one), then DB_STATEMENT_TIMEOUT (the same by default) for its statement; 2 s of slack
# for a shared 2-core machine.
WORST_CASE = 2 * POOL_TIMEOUT + 2
DOWN_FOR = 3.0


@dataclass
class Load:
    """Full flows of one user and app, recording every answer."""

    http: httpx.AsyncClient
    user: str
    oauth_app: dict[str, Any]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    answers: list[tuple[str, int, float, str]] = field(default_factory=list)
    # (code, its verifier, the exchange's answer) and (refresh token presented, answer)
    exchanges: list[tuple[str, str, httpx.Response]] = field(default_factory=list)
    refreshes: list[tuple[str, httpx.Response]] = field(default_factory=list)

    async def send(self, kind: str, request: Awaitable[httpx.Response]) -> httpx.Response:
        started = time.monotonic()
        response = await request
        seconds = time.monotonic() - started
        self.answers.append(
            (kind, response.status_code, seconds, response.headers.get("content-type", ""))
        )
        if response.status_code != 200:
            await asyncio.sleep(0.05)  # no busy loop while the database is away
        return response

    async def new_pair(self) -> dict[str, Any] | None:
        verifier, challenge = pkce_pair()
        authorized = await self.send(
            "authorize",
            authorize(
                self.http,
                self.user,
                self.oauth_app,
                code_challenge=challenge,
                code_challenge_method="S256",
            ),
        )
        if authorized.status_code != 200:
            return None
        code = code_from(authorized)
        exchanged = await self.send(
            "exchange", exchange_code(self.http, self.oauth_app, code, code_verifier=verifier)
        )
        self.exchanges.append((code, verifier, exchanged))
        return exchanged.json() if exchanged.status_code == 200 else None

    async def flow(self) -> None:
        while not self.stop.is_set():
            await self.new_pair()

    async def chain(self) -> None:
        """Refresh a pair again and again. After a failed refresh its token is never sent
        again (it may have been rotated: sending it would be a reuse), a new pair is made."""
        pair: dict[str, Any] | None = None
        while not self.stop.is_set():
            if pair is None:
                pair = await self.new_pair()
                continue
            refreshed = await self.send(
                "refresh", refresh_tokens(self.http, self.oauth_app, pair["refresh_token"])
            )
            self.refreshes.append((pair["refresh_token"], refreshed))
            pair = refreshed.json() if refreshed.status_code == 200 else None


async def stored(url: str, client_pk: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The app's codes and tokens, read straight from the database."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            codes = await conn.execute(
                select(AuthorizationCode.__table__).where(AuthorizationCode.client_id == client_pk)
            )
            tokens = await conn.execute(select(Token.__table__).where(Token.client_id == client_pk))
            return [dict(r) for r in codes.mappings()], [dict(r) for r in tokens.mappings()]
    finally:
        await engine.dispose()


async def test_an_outage_under_full_flows_leaves_nothing_half_written(fault_database_url):
    with live_server(fault_database_url, workers=WORKERS) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            user = await user_token(http, "halfway")
            oauth_app = await create_app(http, user)
            load = Load(http, user, oauth_app)
            tasks = [asyncio.create_task(load.flow()) for _ in range(FLOWS)]
            tasks += [asyncio.create_task(load.chain()) for _ in range(CHAINS)]
            await asyncio.sleep(1.5)
            async with database_outage():
                await asyncio.sleep(DOWN_FOR)
            assert pg_ready()
            assert await wait_healthy(base_url), "the service did not recover by itself"
            served_before_recovery = len(load.answers)
            await asyncio.sleep(1.5)
            load.stop.set()
            await asyncio.gather(*tasks)

            codes, tokens = await stored(fault_database_url, oauth_app["id"])
            follow_ups = await check_invariants(http, load, codes, tokens)

    statuses = {status for _, status, _, _ in load.answers}
    assert statuses <= {200, 503}, statuses
    assert 503 in statuses, "the outage was not seen"
    assert all(ctype.startswith("application/json") for *_, ctype in load.answers)
    slowest = max(seconds for _, _, seconds, _ in load.answers)
    assert slowest < WORST_CASE, f"a request hung for {slowest:.1f} s"
    # The flows went on after the database came back, without a restart.
    after = load.answers[served_before_recovery:]
    assert {kind for kind, status, _, _ in after if status == 200} == {
        "authorize",
        "exchange",
        "refresh",
    }
    print(f"\n{len(load.answers)} answers, slowest {slowest:.2f} s; {follow_ups}")


async def check_invariants(
    http: httpx.AsyncClient,
    load: Load,
    codes: list[dict[str, Any]],
    tokens: list[dict[str, Any]],
) -> dict[str, int]:
    """Assert the database state against what the client saw; then use what should work."""
    code_by_hash = {c["code_hash"]: c for c in codes}
    code_by_family = {c["family_id"]: c for c in codes if c["family_id"] is not None}
    token_by_access = {t["access_token_hash"]: t for t in tokens}
    token_by_refresh = {t["refresh_token_hash"]: t for t in tokens}
    families: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for token in tokens:
        assert token["family_id"] in code_by_family, "a token without its code"
        families[token["family_id"]].append(token)

    # A code is spent exactly when its pair (and the rotations of that one family) exist.
    for code in codes:
        issued = families.get(code["family_id"], []) if code["family_id"] else []
        if code["used_at"] is None:
            assert issued == [], "tokens from a code that is not spent"
        else:
            assert issued, "a code spent without its token"

    # Each rotation has exactly one successor, issued when it was rotated; one live head.
    for family in families.values():
        rotated = [t for t in family if t["rotated_at"] is not None]
        assert len(rotated) == len(family) - 1, "a rotation without exactly one successor"
        for old in rotated:
            successors = [t for t in family if t["issued_at"] == old["rotated_at"]]
            assert len(successors) == 1
        for token in family:
            assert (token["revoked_at"] is None) == (token["rotated_at"] is None)

    counts = {"exchange_200": 0, "exchange_503_done": 0, "exchange_503_undone": 0}
    counts |= {"refresh_200": 0, "refresh_503_done": 0, "refresh_503_undone": 0}
    live: list[str] = []  # access tokens that must work
    dead: list[str] = []  # access tokens of rotated pairs
    unspent: list[tuple[str, str]] = []  # codes whose exchange got a 503 and did nothing
    unrotated: list[str] = []  # refresh tokens whose refresh got a 503 and did nothing

    for code, verifier, response in load.exchanges:
        stored_code = code_by_hash[hash_secret(code)]
        if response.status_code == 200:
            counts["exchange_200"] += 1
            token = token_by_access[hash_secret(response.json()["access_token"])]
            assert token["family_id"] == stored_code["family_id"]
            (dead if token["rotated_at"] else live).append(response.json()["access_token"])
        elif stored_code["used_at"] is None:
            counts["exchange_503_undone"] += 1
            unspent.append((code, verifier))
        else:
            counts["exchange_503_done"] += 1  # committed; only the answer was lost

    for presented, response in load.refreshes:
        old = token_by_refresh[hash_secret(presented)]
        if response.status_code == 200:
            counts["refresh_200"] += 1
            new = token_by_refresh[hash_secret(response.json()["refresh_token"])]
            assert new["family_id"] == old["family_id"]
            assert old["rotated_at"] is not None and new["issued_at"] == old["rotated_at"]
            (dead if new["rotated_at"] else live).append(response.json()["access_token"])
        elif old["rotated_at"] is None:
            counts["refresh_503_undone"] += 1
            assert old["revoked_at"] is None
            unrotated.append(presented)
        else:
            counts["refresh_503_done"] += 1  # its one successor was checked above

    # What the database says is live works; what it says was undone can still be used.
    for access_token in live:
        profile = await http.get("/api/auth/profile", headers=bearer(access_token))
        assert profile.status_code == 200, profile.text
    for access_token in dead:
        profile = await http.get("/api/auth/profile", headers=bearer(access_token))
        assert profile.status_code == 401, profile.text
    for code, verifier in unspent:
        response = await exchange_code(http, load.oauth_app, code, code_verifier=verifier)
        assert response.status_code == 200, response.text
    for refresh_token in unrotated:
        response = await refresh_tokens(http, load.oauth_app, refresh_token)
        assert response.status_code == 200, response.text
    return counts


# --- the cut at an exact point ---------------------------------------------------------------
# The load above cuts transactions wherever they happen to be. Here the grant is paused inside
# its transaction (after the UPDATE that spends the refresh token, or after the INSERT of the
# new pair, before COMMIT), the database is stopped, and the grant resumes on a dead
# connection: the client gets a 503, and once the database is back, the same request succeeds
# because nothing of the cut transaction was kept. On PostgreSQL only a refresh with a `scope`
# has such points: a code exchange and a plain refresh are one statement each.

# The steps of `TokenRepository.rotate_and_issue`'s transaction (`app.db.repositories.tokens`).
CUT_POINTS = [
    ("refresh_token", token_steps, "spend_refresh"),
    ("refresh_token", token_steps, "store_pair"),
]


@pytest.fixture
async def fault_app(fault_database_url: str) -> AsyncIterator[FastAPI]:
    """The app in this process (so that the engine can be paused) on the fault cluster."""
    settings = Settings(
        app_env="test",
        database_url=fault_database_url,
        secret_key=TEST_SECRET_KEY,
        argon2_rounds=1,
        argon2_memory_cost=1024,
    )
    application = create_fastapi_app(settings)
    yield application
    await application.state.services.db.dispose()


@pytest.mark.parametrize(
    ("grant", "owner", "method"),
    CUT_POINTS,
    ids=[f"{grant}-after-{method}" for grant, _, method in CUT_POINTS],
)
async def test_a_grant_cut_inside_its_transaction_keeps_nothing(
    fault_app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
    grant: str,
    owner: Any,
    method: str,
) -> None:
    transport = httpx.ASGITransport(app=fault_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        user = await user_token(http, f"cut{secrets.token_hex(3)}")
        oauth_app = await create_app(http, user)
        assert grant == "refresh_token"
        pair = await issue_tokens(http, user, oauth_app)

        # With a `scope`, a refresh runs as UPDATE then INSERT in a transaction, which has
        # points to cut at; without one it is a single statement on PostgreSQL.
        def send() -> Awaitable[httpx.Response]:
            return refresh_tokens(http, oauth_app, pair["refresh_token"], scope=pair["scope"])

        original = getattr(owner, method)
        reached, resume = asyncio.Event(), asyncio.Event()

        async def paused(*args: Any, **kwargs: Any) -> Any:
            result = await original(*args, **kwargs)
            reached.set()
            await resume.wait()
            return result

        monkeypatch.setattr(owner, method, paused)
        cut = asyncio.create_task(send())
        await asyncio.wait_for(reached.wait(), 10)
        async with database_outage():
            resume.set()
            answer = await asyncio.wait_for(cut, 30)
        monkeypatch.setattr(owner, method, original)
        assert await healthy_again(http), "the app did not find the database again"
        again = await send()
        _codes, tokens = await stored(
            fault_app.state.services.settings.database_url, oauth_app["id"]
        )

    assert answer.status_code == 503, answer.text
    assert answer.json() == unavailable_body(answer.request.url.path)
    assert again.status_code == 200, again.text
    assert len(tokens) == 2  # the pair and its one successor
    assert sum(t["rotated_at"] is not None for t in tokens) == 1
    assert [t["revoked_at"] is None for t in tokens].count(True) == 1
