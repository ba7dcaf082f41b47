"""`make screenshots`: the pages as the README shows them, taken with Playwright (Debian's
Chromium) from a real server on a throw-away SQLite database, at a desktop width and at
375 px, into docs/screenshots/. Run by hand after changing a page; not part of the suite."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
from playwright.async_api import Page

from tests.api.browser import (
    DESKTOP,
    PHONE,
    Account,
    callback_server,
    launched_chromium,
    log_in_here,
    new_account,
    new_third_party_app,
)
from tests.databases import fresh_database
from tests.helpers import bearer, issue_tokens
from tests.live_server import live_server

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


async def shoot(page: Page, name: str, phone: bool) -> None:
    path = OUT / f"{name}{'-375' if phone else ''}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(path.relative_to(OUT.parent.parent))


async def own_apps(server: str, user: Account) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        for name, uri in [
            ("Strava Bridge", "https://bridge.example.com"),
            ("Garmin Sync", "https://garmin-sync.example.org"),
        ]:
            created = await http.post(
                "/api/oauth/apps",
                json={
                    "client_name": name,
                    "client_uri": uri,
                    "client_description": f"{name} for my own workouts",
                    "redirect_uris": [f"{uri}/callback"],
                    "scope": "profile:read workouts:read workouts:write",
                },
                headers=bearer(user.token),
            )
            created.raise_for_status()


async def take(server: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with callback_server() as callback:
        alice = await new_account(server, "alice", exactly=True)
        await own_apps(server, alice)
        developer = await new_account(server, "trailworks", exactly=True)
        connected = await new_third_party_app(
            server,
            callback,
            name="Trail Sync",
            scope="profile:read workouts:read",
            website="https://trailsync.example.com",
            owner=developer,
        )
        async with httpx.AsyncClient(base_url=server, timeout=30) as http:
            app = {"client_id": connected.client_id, "client_secret": connected.client_secret}
            await issue_tokens(http, alice.token, app)
        asking = await new_third_party_app(
            server,
            callback,
            name="Indoor Bike",
            scope="profile:read workouts:read workouts:write equipments:read",
            description="Records your indoor rides and uploads them as workouts.",
            website="https://indoorbike.example.com",
            owner=developer,
        )
        consent_url = (
            f"{server}/profile/apps/authorize?client_id={asking.client_id}"
            "&response_type=code&state=xyz&scope=profile:read+workouts:read+workouts:write"
        )

        async with launched_chromium() as browser:
            for phone in (False, True):
                context = await browser.new_context(viewport=PHONE if phone else DESKTOP)
                page = await context.new_page()
                await page.goto(f"{server}/login")
                await shoot(page, "login", phone)
                await page.goto(consent_url)
                await shoot(page, "consent-before-login", phone)
                await log_in_here(page, alice)
                await page.wait_for_selector("#consent")
                if not phone:  # approve a part, so that the next request marks what is new
                    await page.goto(consent_url.replace("+workouts:write", ""))
                    await page.click("#approve")
                    await page.wait_for_url(lambda url: url.startswith(callback.url))
                    await page.goto(consent_url)
                await shoot(page, "consent", phone)
                await page.goto(f"{server}/profile/apps")
                await shoot(page, "apps", phone)
                if not phone:
                    await page.click("#new-app")
                    await page.fill("#client_name", "GPX Importer")
                    await page.fill("#client_uri", "https://gpx.example.com")
                    await page.fill("#client_description", "Imports GPX files.")
                    await page.fill("#redirect_uris", "https://gpx.example.com/callback")
                    await page.check("#scope-profile-read")
                    await page.check("#scope-workouts-write")
                    await shoot(page, "new-app", phone)
                    await page.click("#create")
                    await page.wait_for_selector("#client-secret")
                    await shoot(page, "app-created", phone)
                    await page.click("#delete")
                    await shoot(page, "confirm-delete", phone)
                await page.goto(f"{server}/profile/apps/connected")
                await shoot(page, "connected", phone)
                await context.close()


def main() -> int:
    with fresh_database(None, prefix="oauth2_screenshots") as url, live_server(url) as server:
        asyncio.run(take(server))
    return 0


if __name__ == "__main__":
    sys.exit(main())
