"""`/docs` (Swagger UI) and `/redoc` render in a real browser with no network but this
server: every request to another host is refused by the page's routing, and none is made."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest

from tests.api.browser import (
    SKIP_WITHOUT_A_BROWSER,
    TIMEOUT_MS,
    Browser,
    Page,
    Route,
    expect,
    launched_chromium,
)
from tests.live_server import live_server

pytestmark = SKIP_WITHOUT_A_BROWSER


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with live_server(database_url) as base_url:
        yield base_url


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium() as launched:
        yield launched


async def offline_page(browser: Browser, server: str) -> tuple[Page, list[str], list[str]]:
    """A page that can reach only `server`; the other hosts it tried, and its errors
    (script errors and Content-Security-Policy violations)."""
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    ours = urlsplit(server).netloc
    elsewhere: list[str] = []
    problems: list[str] = []

    async def only_ours(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == ours:
            await route.continue_()
        else:
            elsewhere.append(url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_ours)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    return page, elsewhere, problems


async def test_swagger_ui_renders_with_no_network_but_the_server(browser, server):
    page, elsewhere, problems = await offline_page(browser, server)
    await page.goto(f"{server}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "FitTrackee OAuth2 server"
    )
    operations = page.locator(".opblock")
    await expect(operations.first).to_be_visible()
    assert await operations.count() >= 15
    await expect(
        page.locator(".opblock-summary-path", has_text="/api/oauth/token").first
    ).to_be_visible()
    # HTTP Basic client authentication is offered by Authorize.
    await page.click("button.authorize")
    await expect(page.locator(".auth-container", has_text="clientBasic")).to_be_visible()
    assert elsewhere == []
    assert problems == []
    await page.context.close()


async def test_redoc_renders_with_no_network_but_the_server(browser, server):
    page, elsewhere, problems = await offline_page(browser, server)
    await page.goto(f"{server}/redoc")
    await expect(page.locator("h1").first).to_contain_text("FitTrackee OAuth2 server")
    await expect(page.get_by_text("/api/oauth/token").first).to_be_attached()
    assert elsewhere == []
    # ReDoc's "API docs by Redocly" badge names an image on Redocly's CDN: the policy
    # refuses it before any request is made (hence nothing in `elsewhere`).
    assert [p for p in problems if "cdn.redoc.ly/redoc/logo-mini.svg" not in p] == []
    await page.context.close()
