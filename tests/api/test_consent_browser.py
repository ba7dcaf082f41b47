"""The consent page in a real browser (issues 6 and 12): headless Chromium (Debian's package,
driven by Playwright) against a real uvicorn process, with a third-party client library
(Authlib) on the app's side and a local HTTP server as the app's redirect URI.

The user logs in on the page itself (a cookie session: nothing a page script can read),
approves, and the app exchanges the code; the app is then listed as connected, and removing
its access cuts its tokens off. A second request for the same scopes skips the page, a wider
one asks again and marks what is new. Denial, a wrong password, an unregistered redirect URI
and an answer without its CSRF token are shown, never sent to the app. Chromium applies CSP
`form-action` to the redirects that follow a form's POST: each flow ends at the app's
callback, so the pages' policies allow exactly that.

Skipped, with the reason, where Playwright or /usr/bin/chromium is missing; `.ci/run` installs
Chromium and the dev extras install Playwright, so CI runs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.api.browser import (
    PHONE,
    SKIP_WITHOUT_A_BROWSER,
    TIMEOUT_MS,
    Account,
    Browser,
    Callback,
    Page,
    ThirdPartyApp,
    callback_server,
    expect,
    fits_the_width,
    launched_chromium,
    log_in_here,
    new_account,
    new_page,
    new_third_party_app,
    nothing_readable_by_scripts,
)
from tests.helpers import bearer
from tests.live_server import live_server

pytestmark = SKIP_WITHOUT_A_BROWSER
SCOPE = "profile:read workouts:read"


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


@pytest.fixture
async def third_party(server: str, callback: Callback) -> ThirdPartyApp:
    return await new_third_party_app(server, callback)


def oauth_client(app: ThirdPartyApp, callback: Callback, scope: str = SCOPE) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=app.client_id,
        client_secret=app.client_secret,
        scope=scope,
        redirect_uri=callback.url,
        code_challenge_method="S256",
        timeout=30,
    )


def at_callback(callback: Callback):
    return lambda current: current.startswith(callback.url + "?")


async def authorize_in_the_browser(
    page: Page,
    server: str,
    callback: Callback,
    app: ThirdPartyApp,
    *,
    user: Account | None = None,
    scope: str = SCOPE,
) -> tuple[str, str, str]:
    """The app sends the browser to the consent page; the user logs in there when `user` is
    given, and approves. (code, state, verifier) at the callback."""
    async with oauth_client(app, callback, scope) as oauth:
        verifier = generate_token(64)
        url, state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=verifier
        )
    await page.goto(url)
    if user is not None:
        await log_in_here(page, user)
    await expect(page.locator("#consent")).to_be_visible()
    await page.click("#approve")
    await page.wait_for_url(at_callback(callback))
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == [state]
    return query["code"][0], state, verifier


async def exchange(
    server: str, callback: Callback, app: ThirdPartyApp, page: Page, verifier: str
) -> dict:
    async with oauth_client(app, callback) as oauth:
        return await oauth.fetch_token(
            f"{server}/api/oauth/token", authorization_response=page.url, code_verifier=verifier
        )


# --- the tests -----------------------------------------------------------------------------


async def test_log_in_on_the_page_approve_and_exchange_the_code(
    server: str, browser: Browser, callback: Callback, user: Account, third_party: ThirdPartyApp
) -> None:
    page, problems = await new_page(browser)
    async with oauth_client(third_party, callback) as oauth:
        verifier = generate_token(64)
        url, state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=verifier
        )
        await page.goto(url)
        # Before logging in: what the app asks for, who registered it, where it goes next.
        await expect(page.locator("#app-name")).to_have_text("Trail <Sync>")
        await expect(page.locator("#app-owner")).to_have_text(third_party.owner.username)
        await expect(page.locator("#app-description")).to_contain_text("Syncs your trails")
        scopes = page.locator("#scopes li")
        await expect(scopes).to_have_count(2)
        await expect(scopes.nth(0)).to_contain_text("Read your profile")
        await expect(scopes.nth(1)).to_contain_text("Read your workouts")
        await expect(page.locator("#redirect-target")).to_have_text(callback.url)
        await expect(page.locator("#register-link")).to_be_visible()
        await expect(page.locator("#consent")).to_have_count(0)

        await log_in_here(page, user)
        await expect(page.locator("#consent")).to_be_visible()
        await expect(page.locator("#username")).to_have_text(user.username)
        # The session is a cookie no script can read, and nothing is kept in storage.
        assert await nothing_readable_by_scripts(page) == {"cookie": "", "session": 0, "local": 0}
        [cookie] = await page.context.cookies()
        assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (
            "fittrackee_session",
            True,
            "Lax",
        )
        assert cookie["value"] not in page.url

        await page.click("#approve")  # a form POST, then a 303 to the app (CSP form-action)
        await page.wait_for_url(at_callback(callback))
        hit = callback.last()
        assert hit["query"]["state"] == [state]
        assert len(hit["query"]["code"][0]) == 48
        assert hit["referer"] is None  # the consent page's URL never reaches the app

        token = await oauth.fetch_token(
            f"{server}/api/oauth/token", authorization_response=page.url, code_verifier=verifier
        )
        assert token["token_type"] == "Bearer"
        assert token["scope"] == SCOPE
        profile = await oauth.get(f"{server}/api/auth/profile")
        assert profile.status_code == 200, profile.text
        assert profile.json()["data"]["username"] == user.username

    assert problems == []
    await page.context.close()


async def test_a_connected_app_is_listed_and_removing_it_cuts_it_off(
    server: str, browser: Browser, callback: Callback, user: Account, third_party: ThirdPartyApp
) -> None:
    page, problems = await new_page(browser)
    _, _, verifier = await authorize_in_the_browser(page, server, callback, third_party, user=user)
    tokens = await exchange(server, callback, third_party, page, verifier)

    await page.goto(f"{server}/profile/apps/connected")
    entry = page.locator(f'#connected li[data-client-id="{third_party.client_id}"]')
    await expect(entry).to_contain_text("Trail <Sync>")
    await expect(entry).to_contain_text("Read your workouts")
    await expect(entry.locator("dd").nth(2)).to_have_text("1")  # one session
    await entry.locator("a.remove").click()
    await expect(page.locator("#question")).to_contain_text("Trail <Sync>")
    await page.click("#confirm")
    await expect(page.locator("#notice")).to_contain_text("access was removed")
    await expect(page.locator("#connected")).not_to_contain_text("Trail")

    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        profile = await http.get("/api/auth/profile", headers=bearer(tokens["access_token"]))
        assert profile.status_code == 401
        refreshed = await http.post(
            "/api/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": third_party.client_id,
                "client_secret": third_party.client_secret,
            },
        )
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"
    assert problems == []
    await page.context.close()


async def test_the_same_scopes_again_skip_the_page_and_wider_ones_ask_again(
    server: str, browser: Browser, callback: Callback, user: Account, third_party: ThirdPartyApp
) -> None:
    page, problems = await new_page(browser)
    await authorize_in_the_browser(
        page, server, callback, third_party, user=user, scope="profile:read"
    )
    hits = len(callback.hits)

    # Same scope: straight back to the app with a code, no page.
    async with oauth_client(third_party, callback, "profile:read") as oauth:
        url, state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=generate_token(64)
        )
    await page.goto(url)
    await page.wait_for_url(at_callback(callback))
    assert callback.last()["query"]["state"] == [state] and len(callback.hits) == hits + 1

    # In a new browser, the login on the consent page leads straight back to the app too:
    # the login form's policy allows the redirect that ends its chain.
    other, other_problems = await new_page(browser)
    await other.goto(url)
    await log_in_here(other, user)
    await other.wait_for_url(at_callback(callback))
    assert "code" in callback.last()["query"]

    # A wider request asks again, and marks what is new.
    async with oauth_client(third_party, callback, SCOPE) as oauth:
        wider, wider_state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=generate_token(64)
        )
    await page.goto(wider)
    await expect(page.locator("#consent")).to_be_visible()
    await expect(page.locator("#scopes li .new")).to_have_count(1)
    await expect(page.locator("#scopes li", has=page.locator(".new"))).to_contain_text(
        "Read your workouts"
    )
    await page.click("#approve")
    await page.wait_for_url(at_callback(callback))
    assert callback.last()["query"]["state"] == [wider_state]

    assert problems == [] and other_problems == []
    await page.context.close()
    await other.context.close()


async def test_deny_sends_access_denied_and_the_state_to_the_callback(
    server: str, browser: Browser, callback: Callback, user: Account, third_party: ThirdPartyApp
) -> None:
    page, problems = await new_page(browser)
    async with oauth_client(third_party, callback) as oauth:
        url, state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=generate_token(64)
        )
    await page.goto(url)
    await log_in_here(page, user)
    await page.click("#deny")
    await page.wait_for_url(at_callback(callback))

    assert callback.last()["query"] == {
        "error": ["access_denied"],
        "state": [state],
        "iss": [server],  # RFC 9207; the page is served from a loopback Host
    }
    assert callback.last()["referer"] is None
    assert problems == []
    await page.context.close()


async def test_cancel_before_logging_in_is_a_denial(
    server: str, browser: Browser, callback: Callback, third_party: ThirdPartyApp
) -> None:
    page, problems = await new_page(browser)
    async with oauth_client(third_party, callback) as oauth:
        url, state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=generate_token(64)
        )
    await page.goto(url)
    await page.click("#deny-link")
    await page.wait_for_url(at_callback(callback))
    assert callback.last()["query"]["error"] == ["access_denied"]
    assert callback.last()["query"]["state"] == [state]
    assert problems == []
    await page.context.close()


async def test_a_wrong_password_is_shown_and_the_right_one_comes_back_here(
    server: str, browser: Browser, callback: Callback, user: Account, third_party: ThirdPartyApp
) -> None:
    page, problems = await new_page(browser)
    hits_before = len(callback.hits)
    async with oauth_client(third_party, callback) as oauth:
        url, state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=generate_token(64)
        )
    await page.goto(url)
    await page.fill("#email", user.email)
    await page.fill("#password", "not the password")
    await page.click("#log-in")

    await expect(page.locator("#form-message")).to_have_text("invalid credentials")
    await expect(page.locator("#email")).to_have_value(user.email)
    assert len(callback.hits) == hits_before
    await log_in_here(page, user)
    await expect(page.locator("#consent")).to_be_visible()  # back on the consent page
    await page.click("#approve")
    await page.wait_for_url(at_callback(callback))
    assert callback.last()["query"]["state"] == [state]
    assert problems == []
    await page.context.close()


async def test_an_answer_without_its_csrf_token_is_refused(
    server: str, browser: Browser, callback: Callback, user: Account, third_party: ThirdPartyApp
) -> None:
    page, problems = await new_page(browser)
    hits_before = len(callback.hits)
    async with oauth_client(third_party, callback) as oauth:
        url, _ = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=generate_token(64)
        )
    await page.goto(url)
    await log_in_here(page, user)
    await expect(page.locator("#consent")).to_be_visible()
    # What a forged form lacks: the session's token (the test removes it from the page).
    await page.locator('#decision input[name="csrf_token"]').evaluate("input => input.remove()")
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.click("#approve")
    assert (await posted.value).status == 403
    await expect(page.locator("h1")).to_have_text("This form cannot be accepted")
    assert len(callback.hits) == hits_before
    assert problems == []
    await page.context.close()


async def test_an_unregistered_redirect_uri_is_shown_in_the_browser(
    server: str, browser: Browser, callback: Callback, third_party: ThirdPartyApp
) -> None:
    page, problems = await new_page(browser)
    hits_before = len(callback.hits)
    response = await page.goto(
        f"{server}/profile/apps/authorize?client_id={third_party.client_id}&response_type=code"
        f"&state=s&redirect_uri={callback.url}/elsewhere"
    )
    assert response is not None and response.status == 400
    await expect(page.locator("#error-message")).to_have_text('Invalid "redirect_uri" in request.')
    assert page.url.startswith(server)
    assert len(callback.hits) == hits_before
    assert problems == []
    await page.context.close()


async def test_the_page_works_with_the_keyboard_on_a_phone(
    server: str, browser: Browser, callback: Callback, user: Account, third_party: ThirdPartyApp
) -> None:
    page, problems = await new_page(browser, PHONE)
    async with oauth_client(third_party, callback) as oauth:
        url, state = oauth.create_authorization_url(
            f"{server}/profile/apps/authorize", code_verifier=generate_token(64)
        )
    await page.goto(url)
    assert await fits_the_width(page)
    for _ in range(20):  # Tab until the e-mail field has the focus
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.id") == "email":
            break
    await page.keyboard.type(user.email)
    await page.keyboard.press("Tab")
    await page.keyboard.type("CapPassw0rd!")
    await page.keyboard.press("Enter")
    await expect(page.locator("#consent")).to_be_visible(timeout=TIMEOUT_MS)
    assert await fits_the_width(page)
    await page.focus("#approve")
    await page.keyboard.press("Enter")
    await page.wait_for_url(at_callback(callback))
    assert callback.last()["query"]["state"] == [state]
    assert problems == []
    await page.context.close()
