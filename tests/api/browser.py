"""What the browser tests share: Debian's Chromium driven by Playwright (never `playwright
install`), a local HTTP server standing for a third-party app (its redirect URI, and a page
of its own that posts a form to ours), fresh accounts made through the JSON API, and pages
that record script errors and Content-Security-Policy violations."""

from __future__ import annotations

import html
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.helpers import PASSWORD, bearer
from tests.live_server import free_port

try:
    from playwright.async_api import Browser, Page, Route, async_playwright, expect
except ImportError:  # pragma: no cover - depends on the environment
    Browser = Page = Route = async_playwright = expect = None  # type: ignore[assignment,misc]

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
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}

SKIP_WITHOUT_A_BROWSER = [
    pytest.mark.skipif(
        Browser is None,
        reason="the playwright package is not installed (pip install -e '.[dev]')",
    ),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)",
    ),
]


@asynccontextmanager
async def launched_chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (never `playwright install`)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Callback:
    """A local HTTP server standing for the third-party app: its redirect URI (`url`), and
    `/attack?action=<url>`, a page of its own origin with a form that posts to `action`
    (what another site can make a visitor's browser send)."""

    url: str
    origin: str
    hits: list[dict[str, Any]] = field(default_factory=list)

    def last(self) -> dict[str, Any]:
        assert self.hits, "the browser never reached the callback"
        return self.hits[-1]

    def attack_page(self, action: str) -> str:
        return f"{self.origin}/attack?{httpx.QueryParams({'action': action})}"


@contextmanager
def callback_server() -> Iterator[Callback]:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    received = Callback(url=f"{origin}/callback", origin=origin)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/callback":
                received.hits.append(
                    {"query": parse_qs(parts.query), "referer": self.headers.get("Referer")}
                )
                body = b"<!doctype html><title>Callback</title><p>Back in the app.</p>"
                self.send_response(200)
            elif parts.path == "/attack":
                action = html.escape(parse_qs(parts.query)["action"][0])
                body = (
                    "<!doctype html><title>Another site</title>"
                    f'<form method="post" action="{action}">'
                    '<input type="hidden" name="next" value="/profile/apps">'
                    '<button id="attack" type="submit">Win a prize</button></form>'
                ).encode()
                self.send_response(200)
            else:
                body = b"not found"
                self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
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


@dataclass
class Account:
    username: str
    email: str
    token: str  # the JSON API's auth token (the test's, never the browser's)


@dataclass
class ThirdPartyApp:
    client_id: str
    client_secret: str
    owner: Account


async def new_account(server: str, prefix: str = "web", *, exactly: bool = False) -> Account:
    """A registered user named `prefix` and a random suffix (`prefix` alone: `exactly`)."""
    username = prefix if exactly else f"{prefix}_{secrets.token_hex(4)}"
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
        assert login.status_code == 200, login.text
    return Account(username, email, login.json()["auth_token"])


async def new_third_party_app(
    server: str,
    callback: Callback,
    *,
    name: str = "Trail <Sync>",
    scope: str = "profile:read workouts:read",
    description: str | None = "Syncs your trails with your watch.",
    website: str = "http://127.0.0.1:8999/about",
    owner: Account | None = None,
) -> ThirdPartyApp:
    """An app registered by a developer of its own, whose redirect URI is the callback."""
    owner = owner or await new_account(server, "dev")
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        created = await http.post(
            "/api/oauth/apps",
            json={
                "client_name": name,
                "client_uri": website,
                "client_description": description,
                "redirect_uris": [callback.url],
                "scope": scope,
            },
            headers=bearer(owner.token),
        )
        assert created.status_code == 201, created.text
    client = created.json()["data"]["client"]
    return ThirdPartyApp(client["client_id"], client["client_secret"], owner)


async def new_page(browser: Browser, viewport: dict[str, int] = DESKTOP) -> tuple[Page, list[str]]:
    """A page in a fresh context (its own cookies and storage), and the script errors and
    CSP violations it reports."""
    context = await browser.new_context(viewport=viewport)
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


async def log_in_here(page: Page, account: Account) -> None:
    """Fill and send the login form of the page the browser is on."""
    await page.fill("#email", account.email)
    await page.fill("#password", PASSWORD)
    await page.click("#log-in")


async def nothing_readable_by_scripts(page: Page) -> dict[str, Any]:
    """What a script of the page could read: cookies, and both storages."""
    return await page.evaluate(
        "() => ({cookie: document.cookie, session: sessionStorage.length,"
        " local: localStorage.length})"
    )


async def fits_the_width(page: Page) -> bool:
    """No horizontal scrolling: the page is no wider than the viewport."""
    return await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


__all__ = ["expect"]
