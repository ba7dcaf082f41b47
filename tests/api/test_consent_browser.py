"""The consent page in a real browser (issue 6 §3): headless Chromium (Debian's package,
driven by Playwright) against a real uvicorn process, with a third-party client library
(Authlib) on the app's side and a local HTTP server as the app's redirect URI.

Approve: the library builds the authorization URL (PKCE S256, state), the browser logs in on
the page, approves, lands on the callback with a code; the library exchanges it and calls the
API. Deny: the callback gets `error=access_denied`, the state (RFC 6749 §4.1.2.1) and the
issuer (RFC 9207).

Skipped, with the reason, where Playwright or /usr/bin/chromium is missing; `.ci/run` installs
Chromium and the dev extras install Playwright, so CI runs it. No `playwright install`: the
browser is Debian's.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.helpers import PASSWORD, bearer
from tests.live_server import free_port, live_server

try:
    from playwright.async_api import Browser, Page, async_playwright, expect
except ImportError:  # pragma: no cover - depends on the environment
    async_playwright = None

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.skipif(
        async_playwright is None,
        reason="the playwright package is not installed (pip install -e '.[dev]')",
    ),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)",
    ),
]


# --- the app's side: a callback server and a user with an app -----------------------------


@dataclass
class Callback:
    """A local HTTP server standing for the third-party app's redirect URI."""

    url: str
    hits: list[dict[str, Any]] = field(default_factory=list)

    def last(self) -> dict[str, Any]:
        assert self.hits, "the browser never reached the callback"
        return self.hits[-1]


@pytest.fixture(scope="module")
def callback() -> Iterator[Callback]:
    port = free_port()
    received = Callback(url=f"http://127.0.0.1:{port}/callback")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/callback":
                received.hits.append(
                    {"query": parse_qs(parts.query), "referer": self.headers.get("Referer")}
                )
                body = b"<!doctype html><title>Callback</title><p>Back in the app.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
            else:
                body = b"not found"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with live_server(database_url) as base_url:
        yield base_url


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Account:
    username: str
    email: str
    client_id: str
    client_secret: str


@pytest.fixture
async def account(server: str, callback: Callback) -> Account:
    """A fresh user with one app whose redirect URI is the callback server."""
    username = f"web_{secrets.token_hex(4)}"
    email = f"{username}@example.com"
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        registered = await http.post(
            "/api/auth/register",
            json={
                "username": username,
                "email": email,
                "password": PASSWORD,
                "accepted_policy": True,
            },
        )
        assert registered.status_code == 200, registered.text
        login = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        token = login.json()["auth_token"]
        created = await http.post(
            "/api/oauth/apps",
            json={
                "client_name": "Trail <Sync>",
                "client_uri": "http://127.0.0.1:8999/about",
                "redirect_uris": [callback.url],
                "scope": "profile:read workouts:read",
            },
            headers=bearer(token),
        )
        assert created.status_code == 201, created.text
    client = created.json()["data"]["client"]
    return Account(username, email, client["client_id"], client["client_secret"])


def oauth_client(account: Account, callback: Callback) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=account.client_id,
        client_secret=account.client_secret,
        scope="profile:read workouts:read",
        redirect_uri=callback.url,
        code_challenge_method="S256",
        timeout=30,
    )


async def new_page(browser: Browser) -> tuple[Page, list[str]]:
    """A page in a fresh context (its own sessionStorage), and the page errors and CSP
    violations it reports."""
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return page, problems


async def log_in(page: Page, account: Account) -> None:
    await expect(page.locator("#login")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.locator("#consent")).to_be_hidden(timeout=TIMEOUT_MS)
    await page.fill("#email", account.email)
    await page.fill("#password", PASSWORD)
    await page.click("#log-in")
    await expect(page.locator("#consent")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.locator("#username")).to_have_text(account.username, timeout=TIMEOUT_MS)


# --- the tests -----------------------------------------------------------------------------


async def test_log_in_approve_and_exchange_the_code(
    server: str, browser: Browser, callback: Callback, account: Account
) -> None:
    page, problems = await new_page(browser)
    async with oauth_client(account, callback) as oauth:
        verifier = generate_token(64)
        url, state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=verifier
        )

        await page.goto(url)
        await expect(page.locator("#app-name")).to_have_text("Trail <Sync>")
        await log_in(page, account)
        scopes = page.locator("#scopes li")
        await expect(scopes).to_have_count(2)
        await expect(scopes.nth(0)).to_contain_text("Read your profile")
        await expect(scopes.nth(1)).to_contain_text("Read your workouts")
        # The user's auth token is kept in this tab's sessionStorage, not in a cookie or URL.
        stored = await page.evaluate("Object.values(window.sessionStorage)")
        assert len(stored) == 1 and stored[0].count(".") == 2  # a JWT
        assert await page.context.cookies() == []
        assert stored[0] not in page.url

        await page.click("#approve")
        await page.wait_for_url(lambda current: current.startswith(callback.url + "?"))

        hit = callback.last()
        assert hit["query"]["state"] == [state]
        assert len(hit["query"]["code"][0]) == 48
        assert hit["referer"] is None  # Referrer-Policy: no-referrer
        assert stored[0] not in page.url

        # The library exchanges the code (and checks the state) and calls the API.
        token = await oauth.fetch_token(
            f"{server}/api/oauth/token", authorization_response=page.url, code_verifier=verifier
        )
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "profile:read workouts:read"
        profile = await oauth.get(f"{server}/api/auth/profile")
        assert profile.status_code == 200, profile.text
        assert profile.json()["data"]["username"] == account.username

        # Back on the page in the same tab, the stored token spares a second log-in.
        again, again_state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=generate_token(64)
        )
        await page.goto(again)
        await expect(page.locator("#consent")).to_be_visible(timeout=TIMEOUT_MS)
        await expect(page.locator("#login")).to_be_hidden()
        await page.click("#approve")
        await page.wait_for_url(lambda current: current.startswith(callback.url + "?"))
        assert callback.last()["query"]["state"] == [again_state]

    assert problems == []
    await page.context.close()


async def test_deny_sends_access_denied_and_the_state_to_the_callback(
    server: str, browser: Browser, callback: Callback, account: Account
) -> None:
    page, problems = await new_page(browser)
    async with oauth_client(account, callback) as oauth:
        url, state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=generate_token(64)
        )
    await page.goto(url)
    await log_in(page, account)

    await page.click("#deny")
    await page.wait_for_url(lambda current: current.startswith(callback.url + "?"))

    assert callback.last()["query"] == {
        "error": ["access_denied"],
        "state": [state],
        "iss": [server],  # RFC 9207; the page is served from a loopback Host
    }
    assert callback.last()["referer"] is None
    assert problems == []
    await page.context.close()


async def test_a_wrong_password_is_shown_and_nothing_is_sent_to_the_app(
    server: str, browser: Browser, callback: Callback, account: Account
) -> None:
    page, problems = await new_page(browser)
    hits_before = len(callback.hits)
    async with oauth_client(account, callback) as oauth:
        url, _ = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=generate_token(64)
        )
    await page.goto(url)
    await expect(page.locator("#login")).to_be_visible(timeout=TIMEOUT_MS)
    await page.fill("#email", account.email)
    await page.fill("#password", "not the password")
    await page.click("#log-in")

    await expect(page.locator("#message")).to_have_text("invalid credentials")
    await expect(page.locator("#consent")).to_be_hidden()
    assert page.url == url
    assert len(callback.hits) == hits_before
    assert problems == []
    await page.context.close()


async def test_an_unregistered_redirect_uri_is_shown_in_the_browser(
    server: str, browser: Browser, callback: Callback, account: Account
) -> None:
    page, problems = await new_page(browser)
    hits_before = len(callback.hits)
    response = await page.goto(
        f"{server}/profile/apps/authorize?client_id={account.client_id}&response_type=code"
        f"&state=s&redirect_uri={callback.url}/elsewhere"
    )
    assert response is not None and response.status == 400
    await expect(page.locator("#error-message")).to_have_text('Invalid "redirect_uri" in request.')
    assert page.url.startswith(server)
    assert len(callback.hits) == hits_before
    assert problems == []
    await page.context.close()
