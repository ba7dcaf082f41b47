"""Accounts through HTTP: register, login, logout, profile, with FitTrackee's shapes and messages
(spec: fittrackee-0.7.17-observed.md, "Auth: register / login / profile")."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt
from sqlalchemy import select, update

from app import clock
from app.accounts.passwords import PasswordHasher
from app.config import Settings
from app.db.models import RevokedUserToken, User
from tests.helpers import PASSWORD, TEST_SECRET_KEY, bearer, login, register, user_token

PROTECTED = [("GET", "/api/auth/profile"), ("POST", "/api/auth/logout")]
NO_TOKEN = "provide a valid auth token"
EXPIRED = "signature expired, please log in again"
INVALID = "invalid token, please log in again"
PROFILE_KEYS = {
    "accepted_privacy_policy", "admin", "bio", "birth_date", "created_at", "date_format",
    "display_ascent", "email", "email_to_confirm", "first_name", "imperial_units", "is_active",
    "language", "last_name", "location", "nb_sports", "nb_workouts", "picture", "records",
    "sports_list", "start_elevation_at_zero", "timezone", "total_ascent", "total_distance",
    "total_duration", "use_raw_gpx_speed", "username", "weekm",
}  # fmt: skip


def registration(**overrides: object) -> dict[str, object]:
    return {
        "username": "alice",
        "email": "alice@example.com",
        "password": PASSWORD,
        "accepted_policy": True,
        **overrides,
    }


def error(message: str) -> dict[str, str]:
    return {"status": "error", "message": message}


async def db_user(app: FastAPI, username: str) -> dict[str, object]:
    async with app.state.services.db.engine.connect() as conn:
        row = (await conn.execute(select(User).where(User.username == username))).mappings().one()
    return dict(row)


async def set_active(app: FastAPI, username: str, active: bool) -> None:
    async with app.state.services.db.engine.begin() as conn:
        await conn.execute(update(User).where(User.username == username).values(is_active=active))


def forged(claims: dict[str, object], key: str = TEST_SECRET_KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def claims_for(user_id: int, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": str(user_id), "iat": now, "exp": now + 3600, "jti": "f" * 32, **overrides}


# --- register ---------------------------------------------------------------------------------


async def test_register_creates_an_active_account_with_an_argon2_hash(client, app):
    response = await client.post("/api/auth/register", json=registration(email="Alice@Example.com"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "success"}

    row = await db_user(app, "alice")
    assert str(row["password_hash"]).startswith("$argon2")
    assert PASSWORD not in str(row["password_hash"])
    assert row["email"] == "alice@example.com"
    assert row["is_active"] is True
    assert row["accepted_policy_at"] is not None


async def test_register_ignores_unknown_members(client):
    body = registration(password_conf=PASSWORD, language="fr", timezone="Europe/Paris")
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 200
    assert response.json() == {"status": "success"}


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({}, "sorry, that username is already taken"),
        ({"email": "other@example.com"}, "sorry, that username is already taken"),
        (
            {"username": "ALICE", "email": "other@example.com"},
            "sorry, that username is already taken",
        ),
        ({"username": "bob"}, "sorry, that email is already taken"),
        ({"username": "bob", "email": "ALICE@example.COM"}, "sorry, that email is already taken"),
    ],
)
async def test_register_refuses_a_taken_username_or_email(client, app, second, message):
    await register(client, "alice")
    response = await client.post("/api/auth/register", json=registration(**second))
    assert response.status_code == 400
    assert response.json() == error(message)
    async with app.state.services.db.engine.connect() as conn:
        count = len((await conn.execute(select(User.id))).all())
    assert count == 1


async def test_concurrent_registrations_of_one_username_give_one_account(client, app):
    bodies = [registration(email=f"alice{i}@example.com") for i in range(2)]
    responses = await asyncio.gather(
        *(client.post("/api/auth/register", json=body) for body in bodies)
    )
    assert sorted(r.status_code for r in responses) == [200, 400]
    refused = next(r for r in responses if r.status_code == 400)
    assert refused.json() == error("sorry, that username is already taken")


async def test_register_requires_the_policy_before_anything_else(client):
    body = registration(username="a", accepted_policy=False)
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 400
    assert response.json() == error("sorry, you must agree privacy policy to register")


async def test_register_lists_every_problem_like_fittrackee(client):
    body = registration(username="a", email="not-an-email", password="x")
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 400
    assert response.json() == error(
        "username: 3 to 30 characters required\n"
        "email: valid email must be provided\n"
        "password: 8 characters required\n"
    )


USERNAME_LENGTH = "username: 3 to 30 characters required\n"
USERNAME_CHARS = 'username: only alphanumeric characters and the underscore character "_" allowed\n'


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("ab", USERNAME_LENGTH),
        ("a" * 31, USERNAME_LENGTH),
        ("al-ice", USERNAME_CHARS),
        ("al ice", USERNAME_CHARS),
        ("alicé", USERNAME_CHARS),
        ("", USERNAME_LENGTH + USERNAME_CHARS),
        ("a-", USERNAME_LENGTH + USERNAME_CHARS),
    ],
)
async def test_register_refuses_bad_usernames(client, username, message):
    response = await client.post("/api/auth/register", json=registration(username=username))
    assert response.status_code == 400
    assert response.json() == error(message)


@pytest.mark.parametrize("username", ["abc", "a" * 30, "Al_1ce"])
async def test_register_accepts_usernames_of_3_to_30_allowed_characters(client, username):
    response = await client.post("/api/auth/register", json=registration(username=username))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "email",
    ["", "alice", "alice@", "@example.com", "alice@example", "al ice@example.com",
     "alice@@example.com", "a" * 250 + "@example.com"],
)  # fmt: skip
async def test_register_refuses_bad_emails(client, email):
    response = await client.post("/api/auth/register", json=registration(email=email))
    assert response.status_code == 400
    assert response.json() == error("email: valid email must be provided\n")


@pytest.mark.parametrize(
    ("password", "status", "message"),
    [
        ("x" * 7, 400, "password: 8 characters required\n"),
        ("x" * 8, 200, None),
        ("x" * 1024, 200, None),
        ("x" * 1025, 400, "password: 1024 characters maximum\n"),
    ],
)
async def test_register_password_length(client, password, status, message):
    response = await client.post("/api/auth/register", json=registration(password=password))
    assert response.status_code == status
    if message:
        assert response.json() == error(message)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "alice", "email": "alice@example.com", "accepted_policy": True},
        {"username": "alice", "email": "alice@example.com", "password": PASSWORD},
        registration(username=123),
        registration(password=None),
        registration(accepted_policy="true"),
        registration(accepted_policy=1),
        registration(email=["alice@example.com"]),
    ],
)
async def test_register_invalid_payload(client, body):
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 400
    assert response.json() == error("invalid payload")


# --- login ------------------------------------------------------------------------------------


async def test_login_returns_an_hs256_jwt_valid_30_days(client, app):
    await register(client, "alice")
    response = await client.post(
        "/api/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"auth_token", "message", "status"}
    assert body["message"] == "successfully logged in"
    assert body["status"] == "success"

    token = body["auth_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, TEST_SECRET_KEY, algorithms=["HS256"])
    assert claims["sub"] == str((await db_user(app, "alice"))["id"])
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600
    assert re.fullmatch(r"[0-9a-f]{32}", claims["jti"])


async def test_each_login_gives_a_distinct_token(client):
    await register(client, "alice")
    assert await login(client, "alice") != await login(client, "alice")


async def test_login_ignores_the_case_of_the_email(client):
    await register(client, "alice")
    response = await client.post(
        "/api/auth/login", json={"email": " ALICE@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "alice@example.com", "password": "nope"},
        {"email": "alice@example.com", "password": PASSWORD.lower()},
        {"email": "nobody@example.com", "password": PASSWORD},
        {"email": "nobody@example.com", "password": "x"},
        {"email": "", "password": ""},
    ],
)
async def test_login_refuses_bad_credentials_alike(client, credentials):
    await register(client, "alice")
    response = await client.post("/api/auth/login", json=credentials)
    assert response.status_code == 401
    assert response.json() == error("invalid credentials")


async def test_login_never_truncates_a_long_password(client):
    password = "p" * 1024
    await client.post("/api/auth/register", json=registration(password=password))
    good = {"email": "alice@example.com", "password": password}
    assert (await client.post("/api/auth/login", json=good)).status_code == 200
    longer = {"email": "alice@example.com", "password": password + "extra"}
    response = await client.post("/api/auth/login", json=longer)
    assert response.status_code == 401
    assert response.json() == error("invalid credentials")


async def test_login_refuses_an_inactive_account(client, app):
    await register(client, "alice")
    await set_active(app, "alice", False)
    response = await client.post(
        "/api/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 401
    assert response.json() == error("invalid credentials")


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "alice@example.com"}, {"password": PASSWORD}, {"email": 1, "password": "x"}],
)
async def test_login_invalid_payload(client, body):
    response = await client.post("/api/auth/login", json=body)
    assert response.status_code == 400
    assert response.json() == error("invalid payload")


async def test_password_hashing_leaves_the_event_loop_free():
    """argon2 at its production cost runs in a worker thread: the loop keeps ticking."""
    hasher = PasswordHasher(Settings(secret_key=TEST_SECRET_KEY))
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    password_hash = await hasher.hash(PASSWORD)
    elapsed = time.perf_counter() - started
    done.set()
    await ticking
    assert password_hash.startswith("$argon2")
    assert elapsed > 0.02, "production-cost argon2 should take a while"
    # Had the hash run on the loop, one gap would span the whole hash.
    assert max(gaps) < elapsed / 2
    assert await hasher.verify(PASSWORD, password_hash)
    assert not await hasher.verify(PASSWORD + "x", password_hash)


# --- profile and the 401s ---------------------------------------------------------------------


async def test_profile_has_fittrackees_shape(client):
    token = await user_token(client, "alice")
    response = await client.get("/api/auth/profile", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    profile = body["data"]
    assert set(profile) == PROFILE_KEYS
    assert profile["username"] == "alice"
    assert profile["email"] == "alice@example.com"
    assert profile["is_active"] is True
    assert profile["accepted_privacy_policy"] is True
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT",
                        profile["created_at"])  # fmt: skip
    assert profile["records"] == [] and profile["total_duration"] == "0:00:00"


async def test_profile_accepts_the_bearer_scheme_in_any_case(client):
    token = await user_token(client, "alice")
    response = await client.get("/api/auth/profile", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer   "},
     {"Authorization": "Basic YWxpY2U6c2VjcmV0"}],
)  # fmt: skip
@pytest.mark.parametrize(
    "method_path", [("GET", "/api/auth/profile"), ("POST", "/api/auth/logout")]
)
async def test_no_token_is_401_with_a_bare_bearer_challenge(client, headers, method_path):
    method, path = method_path
    response = await client.request(method, path, headers=headers)
    assert response.status_code == 401
    assert response.json() == error(NO_TOKEN)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_token_under_another_scheme_is_no_token(client):
    token = await user_token(client, "alice")
    response = await client.get("/api/auth/profile", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 401
    assert response.json() == error(NO_TOKEN)


async def refused(client: httpx.AsyncClient, token: str, message: str) -> None:
    for method, path in PROTECTED:
        response = await client.request(method, path, headers=bearer(token))
        assert response.status_code == 401, (path, response.text)
        assert response.json() == error(message), path
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_garbled_and_forged_tokens_are_invalid(client, app):
    token = await user_token(client, "alice")
    user_id = int((await db_user(app, "alice"))["id"])
    header, payload, signature = token.split(".")
    unsigned_none = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for(user_id))}."
    for bad in [
        "a.b.c",
        f"{header}.{payload}.{signature[:-4]}AAAA",
        f"{header}.{b64(claims_for(user_id + 1))}.{signature}",
        forged(claims_for(user_id), key="another-key-that-is-also-long-enough-0123456789"),
        forged(claims_for(user_id), algorithm="HS512"),
        forged(claims_for(user_id), algorithm="HS384"),
        unsigned_none,
        forged({k: v for k, v in claims_for(user_id).items() if k != "jti"}),
        forged({k: v for k, v in claims_for(user_id).items() if k != "exp"}),
        forged({k: v for k, v in claims_for(user_id).items() if k != "sub"}),
        forged(claims_for(user_id, sub="alice")),
        forged(claims_for(user_id, exp="tomorrow")),
        forged(claims_for(user_id + 1000)),
    ]:
        await refused(client, bad, INVALID)


async def test_a_well_forged_token_with_the_right_key_works(client, app):
    """Control for the test above: only the altered part makes those tokens fail."""
    await register(client, "alice")
    user_id = int((await db_user(app, "alice"))["id"])
    response = await client.get("/api/auth/profile", headers=bearer(forged(claims_for(user_id))))
    assert response.status_code == 200


async def test_an_opaque_garbage_token_at_profile_is_an_invalid_access_token(client):
    """Not a JWT, so it is taken for an OAuth2 access token: RFC 6750 §3.1 error body."""
    response = await client.get("/api/auth/profile", headers=bearer("garbage"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_an_opaque_token_at_logout_is_an_invalid_user_token(client):
    response = await client.post("/api/auth/logout", headers=bearer("garbage"))
    assert response.status_code == 401
    assert response.json() == error(INVALID)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_an_expired_token_says_so(client):
    token = await user_token(client, "alice")
    clock.advance(30 * 24 * 3600 - 5)
    assert (await client.get("/api/auth/profile", headers=bearer(token))).status_code == 200
    clock.advance(10)
    await refused(client, token, EXPIRED)


async def test_a_token_expired_by_its_own_claims_says_so(client, app):
    await register(client, "alice")
    user_id = int((await db_user(app, "alice"))["id"])
    past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    await refused(client, forged(claims_for(user_id, iat=past - 60, exp=past)), EXPIRED)


async def test_tokens_of_an_inactive_or_deleted_user_are_invalid(client, app):
    token = await user_token(client, "alice")
    await set_active(app, "alice", False)
    await refused(client, token, INVALID)
    await set_active(app, "alice", True)
    assert (await client.get("/api/auth/profile", headers=bearer(token))).status_code == 200
    async with app.state.services.db.engine.begin() as conn:
        await conn.execute(User.__table__.delete())
    await refused(client, token, INVALID)


# --- logout -----------------------------------------------------------------------------------


async def test_logout_revokes_that_token_at_once_and_only_it(client, app):
    first = await user_token(client, "alice")
    second = await login(client, "alice")
    other_user = await user_token(client, "bob")

    response = await client.post("/api/auth/logout", headers=bearer(first))
    assert response.status_code == 200
    assert response.json() == {"status": "success", "message": "successfully logged out"}

    await refused(client, first, INVALID)
    for token in (second, other_user):
        assert (await client.get("/api/auth/profile", headers=bearer(token))).status_code == 200

    claims = jwt.decode(first, TEST_SECRET_KEY, algorithms=["HS256"])
    async with app.state.services.db.engine.connect() as conn:
        rows = (await conn.execute(select(RevokedUserToken))).mappings().all()
    assert [(r["jti"], r["expires_at"]) for r in rows] == [
        (claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))
    ]


async def test_racing_logouts_with_one_token_never_fail(client):
    token = await user_token(client, "alice")
    responses = await asyncio.gather(
        *(client.post("/api/auth/logout", headers=bearer(token)) for _ in range(3))
    )
    statuses = [r.status_code for r in responses]
    assert 200 in statuses and set(statuses) <= {200, 401}
    await refused(client, token, INVALID)


async def test_logout_purges_revocations_of_tokens_expired_anyway(client, app):
    old = await user_token(client, "alice")
    await client.post("/api/auth/logout", headers=bearer(old))
    clock.advance(30 * 24 * 3600 + 1)
    new = await login(client, "alice")
    assert (await client.post("/api/auth/logout", headers=bearer(new))).status_code == 200

    new_jti = jwt.decode(new, TEST_SECRET_KEY, algorithms=["HS256"])["jti"]
    async with app.state.services.db.engine.connect() as conn:
        jtis = (await conn.execute(select(RevokedUserToken.jti))).scalars().all()
    assert jtis == [new_jti]
    await refused(client, old, EXPIRED)


# --- profile edit -----------------------------------------------------------------------------


async def test_profile_edit_changes_only_the_given_fields(client):
    token = await user_token(client, "alice")
    response = await client.post(
        "/api/auth/profile/edit",
        json={"first_name": "Alice", "bio": "runs"},
        headers=bearer(token),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "user profile updated"
    assert body["data"]["first_name"] == "Alice" and body["data"]["bio"] == "runs"

    response = await client.post(
        "/api/auth/profile/edit", json={"bio": None}, headers=bearer(token)
    )
    profile = response.json()["data"]
    assert profile["first_name"] == "Alice" and profile["bio"] is None


async def test_profile_edit_refuses_over_long_fields(client):
    token = await user_token(client, "alice")
    response = await client.post(
        "/api/auth/profile/edit", json={"bio": "x" * 201}, headers=bearer(token)
    )
    assert response.status_code == 400
    assert response.json() == error("invalid payload")


async def test_usernames_differing_only_in_case_race_and_one_registration_wins(client):
    """The case-blind unique index settles what the registration check cannot see: two
    requests for "Racer" and "racer" at once give one account and one refusal."""

    async def register_as(username: str) -> httpx.Response:
        return await client.post(
            "/api/auth/register",
            json={
                "username": username,
                "email": f"{username}-{secrets.token_hex(2)}@example.com",
                "password": PASSWORD,
                "accepted_policy": True,
            },
        )

    answers = await asyncio.gather(*(register_as(name) for name in ("Racer", "racer") * 3))
    assert sorted(r.status_code for r in answers) == [200, 400, 400, 400, 400, 400]
    refused = [r.json() for r in answers if r.status_code == 400]
    assert all(
        r == {"message": "sorry, that username is already taken", "status": "error"}
        for r in refused
    )
