"""The account pages in a real browser (issue 12): a person with nothing but a browser logs
in (with the keyboard alone), creates an app and reads its secret once, revokes its tokens,
deletes it, and logs out; a form posted from another site, or without its CSRF token, is
refused; no page script can read the session; every page fits a 375 px screen.

Headless Chromium (Debian's package, driven by Playwright) against a real uvicorn process;
skipped, with the reason, where Playwright or /usr/bin/chromium is missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.api.browser import (
    PHONE,
    SKIP_WITHOUT_A_BROWSER,
    Account,
    Browser,
    Callback,
    Page,
    callback_server,
    expect,
    fits_the_width,
    launched_chromium,
    log_in_here,
    new_account,
    new_page,
    nothing_readable_by_scripts,
)
from tests.helpers import PASSWORD, bearer, issue_tokens
from tests.live_server import live_server

pytestmark = SKIP_WITHOUT_A_BROWSER


@pytest.fixture(scope="module")
def callback() -> Iterator[Callback]:
    with callback_server() as server:
        yield server


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with live_server(database_url) as base_url:
        yield base_url


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium() as launched:
        yield launched


@pytest.fixture
async def user(server: str) -> Account:
    return await new_account(server)


async def logged_in(
    browser: Browser, server: str, user: Account, viewport=None
) -> tuple[Page, list[str]]:
    page, problems = await (new_page(browser, viewport) if viewport else new_page(browser))
    await page.goto(f"{server}/login")
    await log_in_here(page, user)
    await page.wait_for_url(f"{server}/profile/apps")
    return page, problems


async def create_an_app(page: Page, server: str, name: str = "Trail Sync") -> str:
    """Through the form; the created page's URL."""
    await page.goto(f"{server}/profile/apps")
    await page.click("#new-app")
    await page.fill("#client_name", name)
    await page.fill("#client_uri", "https://trails.example.com")
    await page.fill("#client_description", "Syncs your trails.")
    await page.fill("#redirect_uris", "https://trails.example.com/cb\nhttp://127.0.0.1:8000/cb")
    await page.check("#scope-profile-read")
    await page.check("#scope-workouts-read")
    await page.click("#create")
    await page.wait_for_url(lambda url: url.endswith("/created"))
    return page.url


async def test_log_in_with_the_keyboard_alone(server: str, browser: Browser, user: Account) -> None:
    page, problems = await new_page(browser)
    await page.goto(f"{server}/profile/apps/connected")  # not logged in: to the login first
    await page.wait_for_url(lambda url: "/login?next=" in url)
    for _ in range(20):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.id") == "email":
            break
    await page.keyboard.type(user.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{server}/profile/apps/connected")
    await expect(page.locator("#username")).to_have_text(user.username)
    await expect(page.locator('nav a[aria-current="page"]')).to_have_text("Connected apps")
    assert await nothing_readable_by_scripts(page) == {"cookie": "", "session": 0, "local": 0}
    assert problems == []
    await page.context.close()


async def test_create_an_app_and_read_its_secret_once(
    server: str, browser: Browser, user: Account
) -> None:
    page, problems = await logged_in(browser, server, user)
    created = await create_an_app(page, server)
    secret = (await page.locator("#client-secret").text_content() or "").strip()
    client_id = (await page.locator("#client-id").text_content() or "").strip()
    assert len(secret) == 48
    assert await nothing_readable_by_scripts(page) == {"cookie": "", "session": 0, "local": 0}
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        introspected = await http.post(
            "/api/oauth/introspect", data={"token": "x"}, auth=(client_id, secret)
        )
        assert introspected.status_code == 200  # the secret shown is the app's

    await page.reload()
    await expect(page.locator("#secret-gone")).to_be_visible()
    await expect(page.locator("#client-secret")).to_have_count(0)
    assert secret not in await page.content()
    await page.goto(created)
    assert secret not in await page.content()
    await page.goto(f"{server}/profile/apps")
    await expect(page.locator("#apps")).to_contain_text("Trail Sync")
    assert problems == []
    await page.context.close()


async def test_revoke_all_tokens_and_delete_each_after_a_confirmation(
    server: str, browser: Browser, user: Account
) -> None:
    page, problems = await logged_in(browser, server, user)
    await create_an_app(page, server, "To be revoked")
    client_id = (await page.locator("#client-id").text_content() or "").strip()
    secret = (await page.locator("#client-secret").text_content() or "").strip()
    app_url = page.url.removesuffix("/created")
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        oauth_app = {"client_id": client_id, "client_secret": secret}
        tokens = await issue_tokens(http, user.token, oauth_app)

        await page.goto(app_url)
        await page.click("#revoke-all")
        await page.click("#cancel")  # the confirmation's way back changes nothing
        assert page.url == app_url
        status = await http.get("/api/auth/profile", headers=bearer(tokens["access_token"]))
        assert status.status_code == 200
        await page.click("#revoke-all")
        await page.click("#confirm")
        await expect(page.locator("#notice")).to_contain_text("revoked")
        status = await http.get("/api/auth/profile", headers=bearer(tokens["access_token"]))
        assert status.status_code == 401

        await page.click("#delete")
        await expect(page.locator("#question")).to_contain_text("To be revoked")
        await page.click("#confirm")
        await page.wait_for_url(f"{server}/profile/apps?done=deleted")
        await expect(page.locator("#notice")).to_contain_text("deleted")
        await expect(page.locator("#apps")).not_to_contain_text("To be revoked")
        owned = await http.get(f"/api/oauth/apps/{client_id}", headers=bearer(user.token))
        assert owned.status_code == 404
    assert problems == []
    await page.context.close()


async def test_forms_from_another_site_or_without_their_token_are_refused(
    server: str, browser: Browser, callback: Callback, user: Account
) -> None:
    page, problems = await logged_in(browser, server, user)
    await create_an_app(page, server, "Kept")
    app_url = page.url.removesuffix("/created")
    client_id = (await page.locator("#client-id").text_content() or "").strip()

    # Another site's page posts to the delete form: no token, another Origin.
    await page.goto(callback.attack_page(f"{app_url}/delete"))
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.click("#attack")
    assert (await posted.value).status == 403
    await expect(page.locator("h1")).to_have_text("This form cannot be accepted")

    # Our own page with its token taken out.
    await page.goto(f"{app_url}/delete")
    await page.locator('#confirm-form input[name="csrf_token"]').evaluate("i => i.remove()")
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.click("#confirm")
    assert (await posted.value).status == 403

    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        owned = await http.get(f"/api/oauth/apps/{client_id}", headers=bearer(user.token))
        assert owned.status_code == 200  # still there
    assert problems == []
    await page.context.close()


async def test_log_out_ends_the_session_everywhere(
    server: str, browser: Browser, user: Account
) -> None:
    page, problems = await logged_in(browser, server, user)
    cookies = await page.context.cookies()
    other, _ = await new_page(browser)
    await other.context.add_cookies(cookies)  # the same session in another browser
    await other.goto(f"{server}/profile/apps")
    await expect(other.locator("#username")).to_have_text(user.username)

    await page.click("#log-out")
    await page.wait_for_url(f"{server}/login")
    await page.goto(f"{server}/profile/apps")
    await page.wait_for_url(lambda url: "/login?next=" in url)
    await other.goto(f"{server}/profile/apps")
    await other.wait_for_url(lambda url: "/login?next=" in url)
    assert problems == []
    await page.context.close()
    await other.context.close()


async def test_every_page_fits_a_phone(
    server: str, browser: Browser, callback: Callback, user: Account
) -> None:
    page, problems = await logged_in(browser, server, user, PHONE)
    created = await create_an_app(page, server, "A rather long application name for a phone")
    app_url = created.removesuffix("/created")
    pages = [
        created,
        app_url,
        f"{app_url}/revoke",
        f"{app_url}/delete",
        f"{server}/profile/apps",
        f"{server}/profile/apps/new",
        f"{server}/profile/apps/connected",
    ]
    for url in pages:
        await page.goto(url)
        assert await fits_the_width(page), url
    await page.click("#log-out")
    for url in (f"{server}/login", f"{server}/register"):
        await page.goto(url)
        assert await fits_the_width(page), url
    assert problems == []
    await page.context.close()
