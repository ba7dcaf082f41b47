"""Simultaneous redemptions of one code and one refresh token (issue 4 §5).

The database decides: one UPDATE ... RETURNING spends the code or the refresh token, so of 20
requests at once exactly one wins. The 19 others are replays, which revoke what the winner got
(RFC 6749 §4.1.2, RFC 9700 §4.14.2): the winner's transaction holds the row lock until its
tokens are committed, so the replays always find them. On PostgreSQL the requests really run
in parallel on 20 connections; SQLite serializes writers, which must give the same outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from app.db.models import AuthorizationCode, Token
from app.oauth.secrets import hash_secret
from tests.databases import stored_rows as rows
from tests.helpers import (
    authorize,
    bearer,
    code_from,
    exchange_code,
    issue_tokens,
    pkce_pair,
    refresh_tokens,
)

RACERS = 20


@pytest.fixture
def max_connections_in_use(app: FastAPI) -> Iterator[list[int]]:
    """[most connections checked out at once], seen at each statement, to show the requests
    really overlapped (the lane's pool on PostgreSQL, SQLAlchemy's on SQLite)."""
    db = app.state.services.db
    peak = [0]

    def observe(_sql: str) -> None:
        peak[0] = max(peak[0], db.in_use)

    db.observers.append(observe)
    yield peak
    db.observers.remove(observe)


def split(responses: list[httpx.Response]) -> tuple[list[httpx.Response], list[httpx.Response]]:
    won = [r for r in responses if r.status_code == 200]
    lost = [r for r in responses if r.status_code != 200]
    return won, lost


async def test_one_code_redeemed_by_20_requests_at_once(
    app, client, alice, oauth_app, max_connections_in_use
) -> None:
    verifier, challenge = pkce_pair()
    code = code_from(
        await authorize(
            client, alice, oauth_app, code_challenge=challenge, code_challenge_method="S256"
        )
    )

    responses = await asyncio.gather(
        *(exchange_code(client, oauth_app, code, code_verifier=verifier) for _ in range(RACERS))
    )

    assert max_connections_in_use[0] > 1, "the requests did not overlap"
    won, lost = split(responses)
    assert len(won) == 1, [r.text for r in responses]
    assert len(lost) == RACERS - 1
    for response in lost:
        assert response.status_code == 400, response.text
        assert response.json() == {
            "error": "invalid_grant",
            "error_description": 'Invalid "code" in request.',
        }
    [token] = await rows(app, Token)
    [stored_code] = await rows(app, AuthorizationCode)
    assert stored_code["used_at"] is not None
    assert token["family_id"] == stored_code["family_id"]
    # The replays revoked what the winner got.
    assert token["revoked_at"] is not None
    profile = await client.get("/api/auth/profile", headers=bearer(won[0].json()["access_token"]))
    assert profile.status_code == 401


async def test_one_refresh_token_used_by_20_requests_at_once(
    app, client, alice, oauth_app, max_connections_in_use
) -> None:
    tokens = await issue_tokens(client, alice, oauth_app)
    other_family = await issue_tokens(client, alice, oauth_app)

    responses = await asyncio.gather(
        *(refresh_tokens(client, oauth_app, tokens["refresh_token"]) for _ in range(RACERS))
    )

    assert max_connections_in_use[0] > 1, "the requests did not overlap"
    won, lost = split(responses)
    assert len(won) == 1, [r.text for r in responses]
    for response in lost:
        assert response.status_code == 400, response.text
        assert response.json() == {"error": "invalid_grant"}
    stored = await rows(app, Token)
    [original] = [
        r for r in stored if r["refresh_token_hash"] == hash_secret(tokens["refresh_token"])
    ]
    family = [row for row in stored if row["family_id"] == original["family_id"]]
    assert len(family) == 2  # the original pair and the one rotation that happened
    assert sum(row["rotated_at"] is not None for row in family) == 1
    assert all(row["revoked_at"] is not None for row in family)
    for access_token in (tokens["access_token"], won[0].json()["access_token"]):
        assert (
            await client.get("/api/auth/profile", headers=bearer(access_token))
        ).status_code == 401
    # Another grant of the same user and client is untouched.
    response = await client.get("/api/auth/profile", headers=bearer(other_family["access_token"]))
    assert response.status_code == 200
