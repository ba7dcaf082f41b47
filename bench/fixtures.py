"""Test data for the workloads, made through the public API only (so one code drives any server).

Per run (names carry a random run id, so a database can be reused):
- W1: 4 users with one `profile:read` app each, 16 authorize+exchange flows per app: 64 access
  tokens;
- W2: 1 user with 4 apps; every virtual user runs flows against app `i % 4`;
- W3: 1 user with 4 apps and one refresh chain per virtual user, plus spare chains that replace
  a chain that breaks (RFC 6749 §6: every refresh answer carries the next refresh token);
- W4: 1 user with 12 apps (so `?page=2` is a full page of 5 out of 3 pages).

The OAuth2 calls follow RFC 6749 §4.1 with PKCE S256 (RFC 7636 §4.2) and `client_secret_post`
client authentication (RFC 6749 §2.3.1). `password_conf` is sent for the floor app; the project
ignores it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from httpc import Connection, loads

REDIRECT_URI = "https://bench.example.com/callback"
PASSWORD = "bench-password-1234"
FORM = "application/x-www-form-urlencoded"


class SetupError(Exception):
    """The server refused a setup call: the message says which and how."""


def check(what: str, status: int, body: bytes, expected: tuple[int, ...] = (200,)) -> dict:
    if status not in expected:
        raise SetupError(f"{what}: HTTP {status} {body[:300]!r}")
    return loads(body) if body else {}


@dataclass
class User:
    username: str
    token: str  # the first-party user JWT


@dataclass
class App:
    client_id: str
    client_secret: str
    id: int
    scope: str


@dataclass
class Chain:
    """One refresh-token chain: the app it belongs to and its current refresh token."""

    app: App
    refresh_token: str


@dataclass
class Fixture:
    run_id: str
    w1_tokens: list[str] = field(default_factory=list)
    w2_user: User | None = None
    w2_apps: list[App] = field(default_factory=list)
    w3_user: User | None = None
    w3_apps: list[App] = field(default_factory=list)
    w3_chains: list[Chain] = field(default_factory=list)
    w3_spares: list[Chain] = field(default_factory=list)
    w4_user: User | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # workload -> why its setup failed

    def ready(self, workloads: list[str]) -> list[str]:
        return [w for w in workloads if w not in self.skipped]


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636 §4.1-4.2."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_request(conn: Connection, user: User, app: App, challenge: str, state: str) -> bytes:
    body = urlencode(
        {
            "client_id": app.client_id,
            "response_type": "code",
            "scope": app.scope,
            "state": state,
            "confirm": "true",
            "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    ).encode()
    return conn.build("POST", "/api/oauth/authorize", body, FORM, user.token)


def code_from(body: bytes) -> str:
    """The `code` in the `redirect_url` the authorize endpoint answers."""
    query = parse_qs(urlsplit(loads(body)["redirect_url"]).query)
    return query["code"][0]


def exchange_request(conn: Connection, app: App, code: str, verifier: str) -> bytes:
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        }
    ).encode()
    return conn.build("POST", "/api/oauth/token", body, FORM)


def refresh_request(conn: Connection, app: App, refresh_token: str) -> bytes:
    body = urlencode(
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        }
    ).encode()
    return conn.build("POST", "/api/oauth/token", body, FORM)


async def new_user(conn: Connection, username: str) -> User:
    payload = {
        "username": username,
        "email": f"{username}@bench.example.com",
        "password": PASSWORD,
        "password_conf": PASSWORD,
        "accepted_policy": True,
    }
    check(f"register {username}", *await conn.json("POST", "/api/auth/register", payload))
    status, body = await conn.json(
        "POST", "/api/auth/login", {"email": payload["email"], "password": PASSWORD}
    )
    return User(username, check(f"login {username}", status, body)["auth_token"])


async def new_app(conn: Connection, user: User, name: str, scope: str = "profile:read") -> App:
    payload = {
        "client_name": name,
        "client_uri": "https://bench.example.com",
        "redirect_uris": [REDIRECT_URI],
        "scope": scope,
        "client_description": "load benchmark",
    }
    status, body = await conn.json("POST", "/api/oauth/apps", payload, user.token)
    client = check(f"create app {name}", status, body, (200, 201))["data"]["client"]
    return App(client["client_id"], client["client_secret"], client["id"], scope)


async def flow(conn: Connection, user: User, app: App) -> dict:
    """One authorize (PKCE S256) + code exchange; the token response."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    status, body = await conn.send(authorize_request(conn, user, app, challenge, state))
    code = code_from(body) if status == 200 else check("authorize", status, body)
    status, body = await conn.send(exchange_request(conn, app, code, verifier))
    token = check("token exchange", status, body)
    if not token.get("access_token") or not token.get("refresh_token"):
        raise SetupError(f"token exchange: no access/refresh token in {token}")
    return token


async def _flows(
    url: str, user: User, apps: list[App], count: int, width: int = 4
) -> list[tuple[App, dict]]:
    """`count` flows spread over `apps`, `width` connections at a time: (app, token response)."""
    jobs = [apps[i % len(apps)] for i in range(count)]
    out: list[tuple[App, dict]] = []

    async def worker() -> None:
        conn = Connection.for_url(url)
        try:
            while jobs:
                app = jobs.pop()
                out.append((app, await flow(conn, user, app)))
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(width)))
    return out


async def prepare(
    url: str, workloads: list[str], concurrency: int, tokens: int = 64, spares: int = 8
) -> Fixture:
    """Users, apps, tokens and chains for the workloads asked for; checks each path answers.

    A workload whose setup the server refuses (e.g. an endpoint not written yet) is left out:
    `fx.skipped[workload]` says why, and the others still run."""
    fx = Fixture(run_id=secrets.token_hex(3))
    steps = {"W1": _prepare_w1, "W2": _prepare_w2, "W3": _prepare_w3, "W4": _prepare_w4}
    conn = Connection.for_url(url)
    try:
        for w in workloads:
            try:
                await steps[w](conn, url, fx, f"bench{fx.run_id}", concurrency, tokens, spares)
            except (SetupError, KeyError, TypeError, ValueError) as exc:
                fx.skipped[w] = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    return fx


async def _prepare_w1(
    conn: Connection, url: str, fx: Fixture, name: str, _c: int, tokens: int, _s: int
) -> None:
    users = [await new_user(conn, f"{name}_w1_{i}") for i in range(4)]
    for i, user in enumerate(users):
        app = await new_app(conn, user, f"bench W1 {i}")
        got = await _flows(url, user, [app], tokens // len(users) + (i < tokens % len(users)))
        fx.w1_tokens += [t["access_token"] for _, t in got]
    status, body = await conn.get("/api/auth/profile", fx.w1_tokens[0])
    check("profile with an OAuth2 access token (profile:read)", status, body)


async def _prepare_w2(
    conn: Connection, url: str, fx: Fixture, name: str, _c: int, _t: int, _s: int
) -> None:
    fx.w2_user = await new_user(conn, f"{name}_w2")
    fx.w2_apps = [await new_app(conn, fx.w2_user, f"bench W2 {i}") for i in range(4)]
    await flow(conn, fx.w2_user, fx.w2_apps[0])


async def _prepare_w3(
    conn: Connection, url: str, fx: Fixture, name: str, concurrency: int, _t: int, spares: int
) -> None:
    fx.w3_user = await new_user(conn, f"{name}_w3")
    fx.w3_apps = [await new_app(conn, fx.w3_user, f"bench W3 {i}") for i in range(4)]
    got = await _flows(url, fx.w3_user, fx.w3_apps, concurrency + spares)
    chains = [Chain(app, t["refresh_token"]) for app, t in got]
    fx.w3_chains, fx.w3_spares = chains[:concurrency], chains[concurrency:]
    spare = fx.w3_spares[-1] if fx.w3_spares else fx.w3_chains[-1]
    status, body = await conn.send(refresh_request(conn, spare.app, spare.refresh_token))
    spare.refresh_token = check("refresh", status, body)["refresh_token"]


async def _prepare_w4(
    conn: Connection, url: str, fx: Fixture, name: str, _c: int, _t: int, _s: int
) -> None:
    fx.w4_user = await new_user(conn, f"{name}_w4")
    for i in range(12):
        await new_app(conn, fx.w4_user, f"bench W4 {i}", "profile:read workouts:read")
    status, body = await conn.get("/api/oauth/apps?page=2", fx.w4_user.token)
    page = check("list apps page 2", status, body)
    clients, pagination = page["data"]["clients"], page["pagination"]
    if len(clients) != 5 or pagination["total"] != 12:
        raise SetupError(f"page 2 of 12 apps: {len(clients)} clients, {pagination}")
