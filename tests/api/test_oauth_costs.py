"""What each OAuth2 request costs the database, and that no password hash is computed on
these paths (issue 4 §4, issue 5's benchmarks): counted SQL statements, argon2 booby-trapped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from app.accounts.passwords import PasswordHasher
from tests.helpers import (
    authorize,
    bearer,
    code_from,
    exchange_code,
    issue_tokens,
    pkce_pair,
    refresh_tokens,
    revoke_request,
    token_request,
)


@contextmanager
def no_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    async def refuse(*_: Any) -> Any:
        raise AssertionError("argon2 on an OAuth2 path")

    with monkeypatch.context() as patch:
        patch.setattr(PasswordHasher, "hash", refuse)
        patch.setattr(PasswordHasher, "verify", refuse)
        yield


async def test_statements_per_request(
    client, alice, oauth_app, statements, monkeypatch, is_postgres
) -> None:
    verifier, challenge = pkce_pair()
    with no_password_hashing(monkeypatch):
        statements.clear()
        response = await authorize(
            client, alice, oauth_app, code_challenge=challenge, code_challenge_method="S256"
        )
        # user (JWT not logged out), client, code
        assert statements == ["SELECT", "SELECT", "INSERT"]

        statements.clear()
        tokens = await exchange_code(client, oauth_app, code_from(response), code_verifier=verifier)
        assert tokens.status_code == 200
        # client, then spend the code and store the new pair: one statement on PostgreSQL
        if is_postgres:
            assert statements == ["SELECT", "WITH"]
        else:
            assert statements == ["SELECT", "UPDATE", "INSERT"]

        statements.clear()
        profile = await client.get(
            "/api/auth/profile", headers=bearer(tokens.json()["access_token"])
        )
        assert profile.status_code == 200
        assert statements == ["SELECT"]

        statements.clear()
        refreshed = await refresh_tokens(client, oauth_app, tokens.json()["refresh_token"])
        assert refreshed.status_code == 200
        # client, then spend the old pair and store the new one: on PostgreSQL one statement
        # (a data-modifying CTE) in autocommit, elsewhere two in a transaction
        if is_postgres:
            assert statements == ["SELECT", "WITH"]
        else:
            assert statements == ["SELECT", "UPDATE", "INSERT"]

        statements.clear()
        revoked = await revoke_request(client, oauth_app, token=refreshed.json()["access_token"])
        assert revoked.status_code == 200
        assert statements == ["SELECT", "UPDATE"]


async def test_refused_requests_cost_no_query(client, oauth_app, statements) -> None:
    statements.clear()
    assert (await token_request(client, None, grant_type="password")).status_code == 400
    assert (await client.post("/api/oauth/token", json={})).status_code == 400
    assert (await client.get("/api/auth/profile", headers=bearer("x" * 300))).status_code == 401
    assert statements == []


async def test_no_password_hashing_anywhere_in_the_flow(client, alice, oauth_app, monkeypatch):
    with no_password_hashing(monkeypatch):
        tokens = await issue_tokens(client, alice, oauth_app)
        new = (await refresh_tokens(client, oauth_app, tokens["refresh_token"], basic=True)).json()
        assert (
            await client.get("/api/auth/profile", headers=bearer(new["access_token"]))
        ).status_code == 200
        assert (await revoke_request(client, oauth_app, token=new["refresh_token"])).json() == {}
