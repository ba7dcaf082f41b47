"""The worst interleavings of an app's deletion with its grants, forced step by step.

`test_races.py` makes these likely with many requests; here one request is paused inside the
engine at the exact point where the other can hurt it, so each outcome is certain:

- a code exchange or a refresh that has spent its code or refresh token while the app is
  being deleted: the grant holds the client row first (`ClientRepository.hold`), so the
  delete waits for it instead of deadlocking with it (PostgreSQL row locks);
- an authorization whose app is deleted between reading the client and storing the code:
  a clean 400 and no code (`CodeRepository.create`), not a foreign key error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.db.models import AuthorizationCode, OAuth2Client, Token
from app.db.repositories import tokens as token_steps
from app.db.repositories.codes import CodeRepository
from tests.databases import stored_rows as rows
from tests.helpers import (
    authorize,
    bearer,
    create_app,
    issue_tokens,
    refresh_tokens,
    user_token,
)

BLOCKED_DELETES = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM oauth2_clients%'"
)


async def wait_for_blocked_delete(app: FastAPI, deleting: asyncio.Task[Any]) -> None:
    """Until the app's DELETE waits on a row lock (or has ended: then there was no wait)."""
    deadline = time.monotonic() + 10
    while not deleting.done() and time.monotonic() < deadline:
        async with app.state.services.db.engine.connect() as conn:
            if await conn.scalar(BLOCKED_DELETES):
                return
        await asyncio.sleep(0.02)


def pause_after(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str
) -> tuple[asyncio.Event, asyncio.Event]:
    """Make `owner.name` (a function of a module, or a method) stop once it has run:
    (`reached`, set then; `resume`, to go on)."""
    original: Callable[..., Awaitable[Any]] = getattr(owner, name)
    reached, resume = asyncio.Event(), asyncio.Event()

    async def paused(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        reached.set()
        await resume.wait()
        return result

    monkeypatch.setattr(owner, name, paused)
    return reached, resume


# Only the refresh with a `scope` has a point between spending and inserting on PostgreSQL: a
# code exchange and a plain refresh are one statement each there (`redeem_code_and_issue`,
# `rotate_and_issue`), which hold the client first in the same way (`held_for_grant`).
@pytest.mark.parametrize("grant", ["refresh_token"])
async def test_a_grant_that_spent_its_code_or_token_is_waited_for_by_the_apps_deletion(
    app: FastAPI,
    client: httpx.AsyncClient,
    is_postgres: bool,
    monkeypatch: pytest.MonkeyPatch,
    grant: str,
) -> None:
    """The grant has spent its code (or rotated its refresh token) and is paused before it
    inserts the new pair; the app's DELETE starts meanwhile. Without the client held first,
    the DELETE would lock the client then wait for the spent row, and the INSERT's foreign key
    check would wait for the client: a deadlock, one of them a 500. Here the DELETE waits, the
    grant finishes (200), then the DELETE takes the new token with the app (204)."""
    if not is_postgres:
        pytest.skip("row-lock ordering: SQLite runs one writer at a time")
    user = await user_token(client, "alice")
    oauth_app = await create_app(client, user)
    tokens = await issue_tokens(client, user, oauth_app)
    # The step that spends the refresh token, inside `TokenRepository.rotate_and_issue`'s
    # transaction.
    reached, resume = pause_after(monkeypatch, token_steps, "spend_refresh")
    # With a `scope`, a refresh is UPDATE then INSERT in a transaction (a point to pause at).
    granting = asyncio.create_task(
        refresh_tokens(client, oauth_app, tokens["refresh_token"], scope=tokens["scope"])
    )

    await asyncio.wait_for(reached.wait(), 10)
    deleting = asyncio.create_task(
        client.delete(f"/api/oauth/apps/{oauth_app['id']}", headers=bearer(user))
    )
    await wait_for_blocked_delete(app, deleting)
    resume.set()
    granted, deleted = await asyncio.wait_for(asyncio.gather(granting, deleting), 30)

    assert granted.status_code == 200, granted.text
    assert deleted.status_code == 204, deleted.text
    pk = oauth_app["id"]
    assert await rows(app, OAuth2Client, OAuth2Client.id == pk) == []
    assert await rows(app, Token, Token.client_id == pk) == []
    assert await rows(app, AuthorizationCode, AuthorizationCode.client_id == pk) == []
    profile = await client.get("/api/auth/profile", headers=bearer(granted.json()["access_token"]))
    assert profile.status_code == 401


async def test_an_app_deleted_during_an_authorization_gets_no_code(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app is deleted (and committed) after the authorization read it and before the code
    is stored: the answer is the unknown-client refusal, and no code row exists."""
    user = await user_token(client, "alice")
    oauth_app = await create_app(client, user)
    original = CodeRepository.create

    async def delete_app_first(self: CodeRepository, **fields: Any) -> bool:
        deleted = await client.delete(f"/api/oauth/apps/{oauth_app['id']}", headers=bearer(user))
        assert deleted.status_code == 204, deleted.text
        return await original(self, **fields)

    monkeypatch.setattr(CodeRepository, "create", delete_app_first)
    response = await authorize(client, user, oauth_app)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"] == 'Invalid "client_id" in request.'
    assert await rows(app, AuthorizationCode) == []
