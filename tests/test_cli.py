"""`fittrackee-oauth2`: create-user, clean and stats against the test database."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, insert, select

from app import cli, clock
from app.config import Settings
from app.db.models import AuthorizationCode, OAuth2Client, RevokedUserToken, Token, User
from app.db.repositories.maintenance import MaintenanceRepository, Progress
from app.oauth.secrets import hash_secret
from tests.helpers import TEST_SECRET_KEY, login

ROOT = Path(__file__).resolve().parent.parent
DAY = timedelta(days=1)


async def run(settings: Settings, *argv: str, stdin: str | None = None) -> tuple[int, str]:
    """`main(argv)` in a worker thread (it runs its own event loop); exit status and stdout."""
    out = io.StringIO()
    status = await asyncio.to_thread(
        cli.main, list(argv), settings, out, io.StringIO(stdin) if stdin is not None else None
    )
    return status, out.getvalue()


# --- create-user ---------------------------------------------------------------------------


async def test_create_user_makes_an_active_account_that_can_log_in(client, settings):
    status, out = await run(
        settings, "create-user", "bob", "Bob@Example.com", "--password", "B0bPassw0rd!"
    )
    assert status == 0
    assert out.startswith("created user bob (id ")
    response = await client.post(
        "/api/auth/login", json={"email": "bob@example.com", "password": "B0bPassw0rd!"}
    )
    assert response.status_code == 200


async def test_create_user_reads_the_password_from_standard_input(client, settings):
    status, _ = await run(
        settings, "create-user", "alice", "alice@example.com", stdin="CapPassw0rd!\n"
    )
    assert status == 0
    assert await login(client, "alice")


async def test_create_user_refuses_what_registration_refuses(
    app, settings, capsys: pytest.CaptureFixture[str]
):
    assert (
        await run(settings, "create-user", "carol", "carol@example.com", "--password", "Passw0rd!!")
    )[0] == 0
    capsys.readouterr()
    status, out = await run(
        settings, "create-user", "carol", "other@example.com", "--password", "Passw0rd!!"
    )
    assert (status, out) == (1, "")
    assert capsys.readouterr().err == "error: sorry, that username is already taken\n"
    status, _ = await run(settings, "create-user", "dave", "not-an-email", "--password", "short")
    assert status == 1
    err = capsys.readouterr().err
    assert "email: valid email must be provided" in err
    assert "password: 8 characters required" in err
    async with app.state.services.db.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(User)) == 1


# --- clean ---------------------------------------------------------------------------------


# What `clean` reports of `seed`'s rows, whatever the batch size.
CLEANED_ALL = [
    "deleted 3 authorization codes",
    "deleted 6 token pairs",
    "deleted 1 logged-out user tokens",
]


async def seed(app: FastAPI) -> dict[str, Any]:
    """A user, a client, and codes and tokens in every state; their ids by name."""
    now = clock.utcnow()
    ids: dict[str, Any] = {}
    async with app.state.services.db.engine.begin() as conn:
        user_id = (
            await conn.execute(
                insert(User)
                .values(
                    username="owner",
                    email="owner@example.com",
                    password_hash="x",
                    created_at=now,
                    is_active=True,
                )
                .returning(User.id)
            )
        ).scalar_one()
        client_pk = (
            await conn.execute(
                insert(OAuth2Client)
                .values(
                    client_id="c" * 24,
                    client_secret_hash="0" * 64,
                    user_id=user_id,
                    name="app",
                    website="https://example.com",
                    redirect_uris=["https://example.com/cb"],
                    scope="profile:read",
                    issued_at=now,
                )
                .returning(OAuth2Client.id)
            )
        ).scalar_one()

        async def code(name: str, expires_at: datetime, used: bool) -> None:
            ids[name] = (
                await conn.execute(
                    insert(AuthorizationCode)
                    .values(
                        code_hash=name.ljust(64, "0"),
                        client_id=client_pk,
                        user_id=user_id,
                        scope="profile:read",
                        created_at=now - timedelta(minutes=5),
                        expires_at=expires_at,
                        used_at=now - timedelta(minutes=4) if used else None,
                    )
                    .returning(AuthorizationCode.id)
                )
            ).scalar_one()

        await code("code_live", now + timedelta(minutes=5), used=False)
        await code("code_used_live", now + timedelta(minutes=1), used=True)  # replay evidence
        await code("code_expired", now - timedelta(minutes=1), used=False)
        await code("code_used_expired", now - timedelta(minutes=1), used=True)
        await code("code_expired_old", now - 3 * DAY, used=False)

        async def token(
            name: str,
            family: str,
            access_expires: datetime,
            refresh_expires: datetime,
            revoked_at: datetime | None = None,
            rotated: bool = False,
        ) -> None:
            ids[name] = (
                await conn.execute(
                    insert(Token)
                    .values(
                        access_token_hash=hash_secret("a" + name),
                        refresh_token_hash=hash_secret("r" + name),
                        client_id=client_pk,
                        user_id=user_id,
                        family_id=hash_secret(family)[:32],
                        scope="profile:read",
                        issued_at=now - 20 * DAY,
                        access_expires_at=access_expires,
                        refresh_expires_at=refresh_expires,
                        revoked_at=revoked_at,
                        rotated_at=revoked_at if rotated else None,
                    )
                    .returning(Token.id)
                )
            ).scalar_one()

        soon, later, past = now + DAY, now + 10 * DAY, now - 2 * DAY
        # A family's rows in the order rotations make them: only the newest can be live.
        # An old rotation whose tokens both expired: reuse detection no longer needs it.
        await token(
            "tok_rotated_expired", "fam-live", past, past, revoked_at=now - 3 * DAY, rotated=True
        )
        # a rotated pair whose family lives on: kept to recognise a reused refresh token
        await token("tok_rotated", "fam-live", soon, later, revoked_at=now - DAY, rotated=True)
        await token("tok_live", "fam-live", soon, later)
        await token("tok_refreshable", "fam-refresh", now - DAY, later)  # access expired only
        await token("tok_expired", "fam-expired", now - 3 * DAY, now - 2 * DAY)
        await token("tok_revoked", "fam-revoked", soon, later, revoked_at=now - DAY / 2)
        # a family revoked whole (reuse detected): nothing left to protect
        await token("tok_dead_1", "fam-dead", soon, later, revoked_at=past, rotated=True)
        await token("tok_dead_2", "fam-dead", soon, later, revoked_at=past)
        await token("tok_revoked_recently", "fam-recent", soon, later, revoked_at=now)

        for name, expires_at in (
            ("jti_expired", now - timedelta(seconds=1)),
            ("jti_live", now + DAY),
        ):
            await conn.execute(insert(RevokedUserToken).values(jti=name, expires_at=expires_at))
    clock.advance(1)  # "now - x" rows are now strictly in the past
    return ids


async def remaining(app: FastAPI) -> dict[str, set[int] | set[str]]:
    async with app.state.services.db.engine.connect() as conn:
        return {
            "codes": set((await conn.execute(select(AuthorizationCode.id))).scalars()),
            "tokens": set((await conn.execute(select(Token.id))).scalars()),
            "jtis": set((await conn.execute(select(RevokedUserToken.jti))).scalars()),
        }


async def test_clean_deletes_expired_and_dead_revoked_rows_and_keeps_the_rest(app, settings):
    ids = await seed(app)
    status, out = await run(settings, "clean")
    assert status == 0
    assert out.splitlines() == CLEANED_ALL
    left = await remaining(app)
    assert left["codes"] == {ids["code_live"], ids["code_used_live"]}
    assert left["tokens"] == {ids["tok_live"], ids["tok_refreshable"], ids["tok_rotated"]}
    assert left["jtis"] == {"jti_live"}
    status, out = await run(settings, "clean")
    assert out.splitlines()[0] == "deleted 0 authorization codes"


async def test_clean_dry_run_counts_and_deletes_nothing(app, settings):
    await seed(app)
    before = await remaining(app)
    status, out = await run(settings, "clean", "--dry-run")
    assert status == 0
    assert out.splitlines() == [
        "would delete 3 authorization codes",
        "would delete 6 token pairs",
        "would delete 1 logged-out user tokens",
    ]
    assert await remaining(app) == before


async def test_clean_days_keeps_what_died_recently(app, settings):
    ids = await seed(app)
    status, out = await run(settings, "clean", "--days", "1")
    assert status == 0
    assert out.splitlines() == [
        "deleted 1 authorization codes",
        "deleted 4 token pairs",
        "deleted 0 logged-out user tokens",
    ]
    left = await remaining(app)
    assert ids["code_expired_old"] not in left["codes"]
    gone = {
        ids[name] for name in ("tok_expired", "tok_rotated_expired", "tok_dead_1", "tok_dead_2")
    }
    assert gone.isdisjoint(left["tokens"])
    assert ids["tok_revoked"] in left["tokens"]  # revoked half a day ago


async def test_clean_in_batches_of_one_deletes_the_same_and_shows_its_progress(
    app, settings, capsys: pytest.CaptureFixture[str]
):
    ids = await seed(app)
    status, out = await run(settings, "clean", "--batch", "1")
    assert status == 0
    assert out.splitlines() == CLEANED_ALL
    left = await remaining(app)
    assert left["tokens"] == {ids["tok_live"], ids["tok_refreshable"], ids["tok_rotated"]}
    lines = capsys.readouterr().err.splitlines()
    walked = (
        max(ids[name] for name in ids if name.startswith("tok_"))
        - min(ids[name] for name in ids if name.startswith("tok_"))
        + 1
    )
    assert f"clean: oauth2_tokens: 6 deleted, {walked:,} of {walked:,} ids walked (100%)" in lines
    assert "clean: oauth2_codes: 3 deleted" in lines
    assert lines[-1] == "clean: revoked_user_tokens: 1 deleted"
    status, _ = await run(settings, "clean", "--quiet")
    assert status == 0 and capsys.readouterr().err == ""


class Interrupted(Exception):
    pass


async def test_an_interrupted_clean_keeps_what_it_deleted_and_a_rerun_finishes(app, settings):
    ids = await seed(app)
    before = await remaining(app)
    maintenance = MaintenanceRepository(app.state.services.db)
    seen: list[Progress] = []

    def stop_after_three_batches(step: Progress) -> None:
        seen.append(step)
        if len(seen) == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        await maintenance.delete_removable(
            before=clock.utcnow(), batch=1, progress=stop_after_three_batches
        )
    # The first three ids were walked, each batch committed: of those rows only the expired
    # rotation is dead, and gone; the rest is as it was (the codes not reached yet).
    first_three = sorted(before["tokens"])[:3]
    assert first_three == [ids["tok_rotated_expired"], ids["tok_rotated"], ids["tok_live"]]
    halfway = await remaining(app)
    assert halfway["codes"] == before["codes"]
    assert halfway["tokens"] == before["tokens"] - {ids["tok_rotated_expired"]}
    assert [step.table for step in seen] == ["oauth2_tokens"] * 3

    done = await maintenance.delete_removable(before=clock.utcnow(), batch=1)
    assert done.as_dict() == {"codes": 3, "tokens": 5, "revoked_user_tokens": 1}
    left = await remaining(app)
    assert left["tokens"] == {ids["tok_live"], ids["tok_refreshable"], ids["tok_rotated"]}


async def test_clean_refuses_negative_days(settings, capsys: pytest.CaptureFixture[str]):
    status, _ = await run(settings, "clean", "--days", "-1")
    assert status == 1
    assert capsys.readouterr().err == "error: --days must be 0 or more\n"


@pytest.mark.parametrize(("flag", "value"), [("--batch", "0"), ("--rest", "-1"), ("--rest", "nan")])
async def test_clean_refuses_a_batch_or_rest_out_of_range(
    settings, flag: str, value: str, capsys: pytest.CaptureFixture[str]
):
    status, _ = await run(settings, "clean", flag, value)
    assert status == 1
    assert (
        capsys.readouterr().err
        == f"error: {flag} must be {'1' if flag == '--batch' else '0'} or more\n"
    )


# --- stats ---------------------------------------------------------------------------------


async def test_stats_counts_every_state(app, settings):
    await seed(app)
    status, out = await run(settings, "stats", "--json")
    assert status == 0
    assert json.loads(out) == {
        "users": 1,
        "active_users": 1,
        "clients": 1,
        "tokens_live": 2,
        "tokens_expired": 1,
        "tokens_revoked": 6,
        "codes_live": 1,
        "codes_used": 2,
        "codes_expired": 2,
        "revoked_user_tokens": 2,
    }
    status, out = await run(settings, "stats")
    assert "tokens live: 2" in out.splitlines()
    assert "clients: 1" in out.splitlines()


async def test_stats_on_empty_tables_are_zeros(app, settings):
    _, out = await run(settings, "stats", "--json")
    assert set(json.loads(out).values()) == {0}


# --- the console script --------------------------------------------------------------------


def cli_process(database_url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "APP_ENV": "test",
        "SECRET_KEY": TEST_SECRET_KEY,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_module_runs_as_a_command(app, database_url):
    created = await asyncio.to_thread(
        cli_process,
        database_url,
        "create-user",
        "erin",
        "erin@example.com",
        "--password",
        "Er1nPassw0rd",
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created user erin")
    counted = await asyncio.to_thread(cli_process, database_url, "stats", "--json")
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout)["users"] == 1


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["frobnicate"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


async def test_an_unreachable_database_is_a_clear_error(
    settings: Settings, capsys: pytest.CaptureFixture[str]
):
    down = settings.model_copy(
        update={
            "database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/none",
            "db_pool_timeout": 2,
        }
    )
    status, _ = await run(down, "stats")
    assert status == 1
    assert capsys.readouterr().err.splitlines() == [
        'error: cannot reach "none" on 127.0.0.1:1: connection refused',
        "hint: is the database server running and reachable from here? check the host and "
        "port in DATABASE_URL",
    ]
