"""The consent page over HTTP (issues 6 and 12): what it shows before and after login, its
security headers, escaping of everything from the client record or the query, refusals
rendered on the page (never redirected), the answer form (session, CSRF, Origin), the
remembered consent and `prompt`. The browser flows are in `test_consent_browser.py`."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.db.models import AuthorizationCode, Consent
from app.oauth.scopes import FITTRACKEE_SCOPES
from app.pages.scope_words import SCOPE_WORDS
from tests.databases import stored_rows
from tests.helpers import PAGE_ORIGIN, form_value, page_login, pkce_pair
from tests.helpers import create_app as create_oauth_app

PAGE = "/profile/apps/authorize"
XSS = "<script>alert(1)</script>"


VOID_ELEMENTS = {"meta", "link", "input", "br", "img", "hr"}


class PageParts(HTMLParser):
    """The bits of a page the tests look at: scripts, forms and their inputs, links, and the
    text inside each element that has an id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.texts: dict[str, str] = {}
        self.links: dict[str, str] = {}  # href: id (or "")
        self.forms: list[dict[str, Any]] = []
        self.attributes: list[dict[str, str | None]] = []
        self._open: list[tuple[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.attributes.append(attributes)
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "a":
            self.links[attributes.get("href") or ""] = attributes.get("id") or ""
        if tag == "form":
            self.forms.append({"action": attributes.get("action"), "inputs": {}})
        if tag in ("input", "button") and self.forms and attributes.get("name"):
            self.forms[-1]["inputs"][attributes["name"]] = attributes.get("value")
        if tag in VOID_ELEMENTS:
            return
        element_id = attributes.get("id")
        if element_id:
            self.texts.setdefault(element_id, "")
        self._open.append((tag, element_id))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            if element_id:
                self.texts[element_id] += data

    def link_with_id(self, element_id: str) -> str:
        return next(href for href, found in self.links.items() if found == element_id)

    def form_to(self, action: str) -> dict[str, Any]:
        return next(form for form in self.forms if form["action"] == action)


def csp_of(response: httpx.Response) -> list[str]:
    return [part.strip() for part in response.headers["content-security-policy"].split(";")]


def assert_page_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["content-type"] == "text/html; charset=utf-8"
    csp = csp_of(response)
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert not [part for part in csp if part.startswith("script-src")]  # no script at all
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert "location" not in headers


def assert_no_script(response: httpx.Response) -> None:
    parts = PageParts(response.text)
    assert parts.scripts == []
    handlers = [
        name for attributes in parts.attributes for name in attributes if name.startswith("on")
    ]
    assert handlers == []
    assert "javascript:" not in response.text


@pytest.fixture
async def oauth_app(client: httpx.AsyncClient, alice: str) -> dict[str, Any]:
    return await create_oauth_app(
        client,
        alice,
        client_name="Trail Sync",
        client_uri="https://trails.example.com/about",
        client_description="Syncs your trails",
        redirect_uris=["https://trails.example.com/cb", "https://trails.example.com/cb2?keep=1"],
        scope="profile:read workouts:read workouts:write",
    )


async def consent(client: httpx.AsyncClient, oauth_app: dict[str, Any], **query: Any):
    params = {"client_id": oauth_app["client_id"], "response_type": "code", **query}
    return await client.get(PAGE, params={k: v for k, v in params.items() if v is not None})


async def codes_stored(app: FastAPI) -> int:
    async with app.state.services.db.engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(AuthorizationCode))


async def answer(
    client: httpx.AsyncClient, page: httpx.Response, decision: str, **changes: Any
) -> httpx.Response:
    """Post the page's answer form as a browser would, with `changes` to its fields."""
    form = PageParts(page.text).form_to(PAGE)["inputs"]
    fields = {k: v for k, v in form.items() if k != "decision"}
    fields = {**fields, "decision": decision, **changes}
    data = {k: v for k, v in fields.items() if v is not None}
    return await client.post(PAGE, data=data, headers=PAGE_ORIGIN)


# --- the page, before login --------------------------------------------------------------------


async def test_before_login_the_page_shows_the_app_its_owner_and_its_scopes(client, oauth_app, app):
    _, challenge = pkce_pair()
    response = await consent(
        client,
        oauth_app,
        scope="workouts:read profile:read",
        state="xyz",
        redirect_uri="https://trails.example.com/cb",
        code_challenge=challenge,
        code_challenge_method="S256",
    )

    assert response.status_code == 200, response.text
    assert_page_headers(response)
    assert_no_script(response)
    assert "set-cookie" not in response.headers
    parts = PageParts(response.text)
    assert parts.texts["app-name"] == "Trail Sync"
    assert parts.texts["app-owner"] == "alice"
    assert parts.texts["app-description"] == "Syncs your trails"
    assert "https://trails.example.com/about" in parts.links
    scopes = " ".join(parts.texts["scopes"].split())
    assert "Read your profile" in scopes
    assert "Read your workouts" in scopes
    assert "Add, change and delete your workouts" not in scopes  # not asked for
    assert parts.texts["redirect-target"] == "https://trails.example.com/cb"
    # A login form that comes back here, and a link to register (registration is open).
    login = parts.form_to("/login")
    assert set(login["inputs"]) == {"next", "email", "password"}
    back = urlsplit(login["inputs"]["next"])
    assert back.path == PAGE and parse_qs(back.query)["state"] == ["xyz"]
    assert "consent" not in parts.texts  # no answer before login
    register = urlsplit(parts.link_with_id("register-link"))
    assert register.path == "/register" and parse_qs(register.query)["next"] == [
        login["inputs"]["next"]
    ]
    # Showing the page decides nothing: no code exists until the user approves.
    assert await codes_stored(app) == 0


async def test_cancel_is_the_denial_computed_from_the_validated_redirect_uri(client, oauth_app):
    response = await consent(
        client, oauth_app, state="st4te", redirect_uri="https://trails.example.com/cb2?keep=1"
    )
    denial = urlsplit(PageParts(response.text).link_with_id("deny-link"))
    assert (denial.scheme, denial.netloc, denial.path) == ("https", "trails.example.com", "/cb2")
    assert parse_qs(denial.query) == {
        "keep": ["1"],
        "error": ["access_denied"],
        "state": ["st4te"],
        # RFC 9207: the issuer; the test client's Host ("testserver") is not a trusted one,
        # so it is the first of ISSUER_HOSTS's default, HOST:PORT.
        "iss": ["http://127.0.0.1:5000"],
    }


async def test_without_redirect_uri_or_state_the_denial_goes_to_the_first_registered_uri(
    client, oauth_app
):
    response = await consent(client, oauth_app)
    assert PageParts(response.text).link_with_id("deny-link") == (
        "https://trails.example.com/cb?error=access_denied&iss=http%3A%2F%2F127.0.0.1%3A5000"
    )


async def test_no_register_link_when_registration_is_closed(server_with, oauth_app):
    async with server_with(registration_enabled=False) as http:
        response = await consent(http, oauth_app)
    assert response.status_code == 200
    assert "register-link" not in PageParts(response.text).links.values()


async def test_no_scope_asks_for_all_of_the_apps_scopes(client, oauth_app):
    response = await consent(client, oauth_app)
    assert response.status_code == 200
    scopes = PageParts(response.text).texts["scopes"]
    for scope in ("profile:read", "workouts:read", "workouts:write"):
        assert SCOPE_WORDS[scope] in scopes
        assert scope in scopes


async def test_a_scope_outside_the_apps_is_not_shown(client, oauth_app):
    response = await consent(client, oauth_app, scope="profile:read users:write")
    assert response.status_code == 200
    scopes = PageParts(response.text).texts["scopes"]
    assert SCOPE_WORDS["profile:read"] in scopes
    assert SCOPE_WORDS["users:write"] not in scopes


async def test_forms_may_post_here_and_redirect_to_the_app_only(client, alice):
    """CSP `form-action`: this site, and the redirect URI's origin (Chromium checks the
    redirect that follows the answer's POST); a private-use scheme by its scheme."""
    web = await create_oauth_app(client, alice, redirect_uris=["http://127.0.0.1:8999/cb"])
    native = await create_oauth_app(client, alice, redirect_uris=["com.example.app:/callback"])
    plain = await create_oauth_app(client, alice, redirect_uris=["https://example.com/a/b?c=d"])
    for oauth_app, source in [
        (web, "http://127.0.0.1:8999"),
        (native, "com.example.app:"),
        (plain, "https://example.com"),
    ]:
        response = await consent(client, oauth_app)
        assert f"form-action 'self' {source}" in csp_of(response)


async def test_the_stylesheet_is_served_and_nothing_else(client):
    style = await client.get("/static/pages/pages.css")
    assert style.status_code == 200
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert style.headers["x-content-type-options"] == "nosniff"
    for path in (
        "/static/pages/other.css",
        "/static/pages/..%2f..%2fconfig.py",
        "/static/pages/%2e%2e/render.py",
        "/static/pages/",
        "/static/consent/consent.js",  # the page's old script is gone
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json"


# --- escaping ---------------------------------------------------------------------------------


async def test_an_app_named_like_a_script_renders_as_text(client, alice):
    hostile = await create_oauth_app(
        client,
        alice,
        client_name=XSS,
        client_description=XSS,
        client_uri="https://example.com/?a=1&b=%22%3E",
    )
    response = await consent(client, hostile)

    assert response.status_code == 200, response.text
    assert XSS not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert 'href="https://example.com/?a=1&amp;b=%22%3E"' in response.text
    parts = PageParts(response.text)
    assert parts.texts["app-name"] == XSS  # shown to the user as these very characters
    assert parts.texts["app-description"] == XSS
    assert "https://example.com/?a=1&b=%22%3E" in parts.links
    assert parts.scripts == []


async def test_query_values_cannot_break_out_of_the_page(client, oauth_app, alice):
    state = "\"><script>alert(3)</script><!--'&"
    await page_login(client)
    response = await consent(client, oauth_app, state=state, prompt="consent")

    assert response.status_code == 200
    assert "<script>alert(3)" not in response.text
    parts = PageParts(response.text)
    assert parts.scripts == []
    assert parts.form_to(PAGE)["inputs"]["state"] == state  # carried as these characters
    assert parse_qs(urlsplit(parts.form_to("/logout")["inputs"]["next"]).query)["state"] == [state]


# --- refusals are shown, never redirected -------------------------------------------------


async def assert_refused(response: httpx.Response, error: str, message: str) -> None:
    assert response.status_code == 400, response.text
    assert_page_headers(response)
    assert_no_script(response)
    parts = PageParts(response.text)
    assert parts.texts["error-code"] == error
    assert parts.texts["error-message"] == message
    assert parts.forms == []
    assert all(href.startswith(("/", "#")) for href in parts.links)  # nothing off-site


async def test_an_unknown_client_is_shown_on_the_page(client, oauth_app):
    response = await consent(client, oauth_app, client_id="x" * 24, state="s")
    await assert_refused(response, "invalid_request", 'Invalid "client_id" in request.')


async def test_an_implausible_client_id_is_shown_on_the_page(client, oauth_app):
    for client_id in ("x" * 49, "a\x00b"):
        response = await consent(client, oauth_app, client_id=client_id)
        await assert_refused(response, "invalid_request", 'Invalid "client_id" in request.')


async def test_an_unregistered_redirect_uri_is_shown_not_redirected_to(client, oauth_app):
    evil = "https://evil.example/steal"
    for redirect_uri in (evil, "https://trails.example.com/cb/", "https://trails.example.com/"):
        for prompt in (None, "none"):
            response = await consent(
                client, oauth_app, redirect_uri=redirect_uri, state="s", prompt=prompt
            )
            await assert_refused(response, "invalid_request", 'Invalid "redirect_uri" in request.')
            assert redirect_uri not in response.text


async def test_a_response_type_other_than_code_is_shown_on_the_page(client, oauth_app):
    response = await consent(client, oauth_app, response_type="token")
    await assert_refused(response, "unsupported_response_type", 'Unsupported "response_type"')


@pytest.mark.parametrize(
    ("pkce", "message"),
    [
        ({"code_challenge_method": "S256"}, 'Missing "code_challenge"'),
        ({"code_challenge": "c" * 43}, 'Missing "code_challenge_method"'),
        (
            {"code_challenge": "c" * 43, "code_challenge_method": "plain"},
            'Unsupported "code_challenge_method"',
        ),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, 'Invalid "code_challenge"'),
    ],
)
async def test_bad_pkce_parameters_are_shown_on_the_page(client, oauth_app, pkce, message):
    response = await consent(client, oauth_app, **pkce)
    await assert_refused(response, "invalid_request", message)


async def test_a_scope_with_nothing_allowed_is_shown_on_the_page(client, oauth_app):
    response = await consent(client, oauth_app, scope="users:write")
    await assert_refused(
        response, "invalid_scope", "The requested scope is invalid, unknown, or malformed."
    )


async def test_prompt_none_with_another_value_is_shown_on_the_page(client, oauth_app):
    response = await consent(client, oauth_app, prompt="none consent")
    await assert_refused(
        response, "invalid_request", '"prompt=none" cannot be combined with another value.'
    )


async def test_missing_parameters_are_shown_on_the_page(client, oauth_app):
    missing_client = await client.get(PAGE, params={"response_type": "code"})
    await assert_refused(missing_client, "invalid_request", 'Missing "client_id" in request.')
    missing_type = await client.get(PAGE, params={"client_id": oauth_app["client_id"]})
    await assert_refused(missing_type, "invalid_request", 'Missing "response_type" in request.')
    empty = await client.get(PAGE)
    await assert_refused(empty, "invalid_request", 'Missing "client_id" in request.')


async def test_a_parameter_sent_twice_or_too_long_is_shown_on_the_page(client, oauth_app):
    twice = await client.get(
        PAGE + f"?client_id={oauth_app['client_id']}&response_type=code&state=a&state=b"
    )
    await assert_refused(twice, "invalid_request", '"state" is sent more than once.')
    long_state = await consent(client, oauth_app, state="s" * 4097)
    await assert_refused(long_state, "invalid_request", '"state" is longer than 4096 characters.')


def test_every_scope_of_every_catalogue_has_plain_words():
    assert set(SCOPE_WORDS) == {scope for scope, _ in FITTRACKEE_SCOPES}
    assert all(words and ":" not in words for words in SCOPE_WORDS.values())


async def test_the_discovery_document_points_at_this_page(client, oauth_app):
    metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
    path = urlsplit(metadata["authorization_endpoint"]).path
    assert path == PAGE
    response = await consent(client, oauth_app)
    assert response.status_code == 200
    assert_page_headers(response)


# --- prompt=none without a session ------------------------------------------------------------


async def test_prompt_none_without_a_session_is_login_required_at_the_redirect_uri(
    client, oauth_app, app
):
    response = await consent(client, oauth_app, prompt="none", state="s1")
    assert response.status_code == 303
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    location = urlsplit(response.headers["location"])
    assert (location.netloc, location.path) == ("trails.example.com", "/cb")
    assert parse_qs(location.query) == {
        "error": ["login_required"],
        "state": ["s1"],
        "iss": ["http://127.0.0.1:5000"],
    }
    assert await codes_stored(app) == 0


# --- after login: the answer ------------------------------------------------------------------


async def test_logged_in_the_page_asks_with_a_form_that_carries_the_request(client, oauth_app):
    await page_login(client)
    response = await consent(client, oauth_app, state="st", scope="profile:read")
    assert response.status_code == 200
    assert_page_headers(response)
    assert_no_script(response)
    parts = PageParts(response.text)
    assert parts.texts["username"] == "alice"
    assert "login" not in parts.texts
    form = parts.form_to(PAGE)["inputs"]
    assert form["client_id"] == oauth_app["client_id"]
    assert (form["response_type"], form["state"], form["scope"]) == ("code", "st", "profile:read")
    assert form["csrf_token"] == form_value(response.text, "csrf_token")
    assert len(form["csrf_token"]) == 64
    assert "prompt" not in form


async def test_approving_issues_a_code_remembers_the_consent_and_redirects(client, oauth_app, app):
    await page_login(client)
    page = await consent(client, oauth_app, state="st", scope="profile:read")
    approved = await answer(client, page, "approve")

    assert approved.status_code == 303, approved.text
    assert approved.headers["cache-control"] == "no-store"
    location = urlsplit(approved.headers["location"])
    assert (location.netloc, location.path) == ("trails.example.com", "/cb")
    query = parse_qs(location.query)
    assert query["state"] == ["st"] and len(query["code"][0]) == 48
    [code] = await stored_rows(app, AuthorizationCode)
    assert code["scope"] == "profile:read"
    [remembered] = await stored_rows(app, Consent)
    assert remembered["scope"] == "profile:read"


async def test_denying_sends_access_denied_and_remembers_nothing(client, oauth_app, app):
    await page_login(client)
    page = await consent(client, oauth_app, state="st")
    denied = await answer(client, page, "deny")
    assert denied.status_code == 303
    assert parse_qs(urlsplit(denied.headers["location"]).query) == {
        "error": ["access_denied"],
        "state": ["st"],
        "iss": ["http://127.0.0.1:5000"],
    }
    assert await codes_stored(app) == 0
    assert await stored_rows(app, Consent) == []


async def test_a_second_request_within_the_consent_skips_the_page(client, oauth_app, app):
    await page_login(client)
    first = await consent(client, oauth_app)  # every scope of the app
    assert (await answer(client, first, "approve")).status_code == 303
    again = await consent(client, oauth_app, scope="workouts:read", state="two")
    assert again.status_code == 303
    query = parse_qs(urlsplit(again.headers["location"]).query)
    assert query["state"] == ["two"] and "code" in query
    assert await codes_stored(app) == 2
    # prompt=consent asks anyway, and says nothing is new.
    asked = await consent(client, oauth_app, scope="workouts:read", prompt="consent")
    assert asked.status_code == 200
    assert "You approved all of these before." in PageParts(asked.text).texts["remembered-note"]


async def test_a_wider_request_asks_again_and_marks_what_is_new(client, oauth_app):
    await page_login(client)
    first = await consent(client, oauth_app, scope="profile:read")
    await answer(client, first, "approve")
    wider = await consent(client, oauth_app, scope="profile:read workouts:write")
    assert wider.status_code == 200
    items = [line for line in wider.text.splitlines() if "<li>" in line and "<code>" in line]
    marked = {line.split("<code>")[1].split("</code>")[0]: "new" in line for line in items}
    assert marked == {"profile:read": False, "workouts:write": True}
    assert "remembered-note" in PageParts(wider.text).texts


async def test_prompt_none_logged_in_is_a_code_or_consent_required(client, oauth_app):
    await page_login(client)
    missing = await consent(client, oauth_app, prompt="none", state="n")
    assert missing.status_code == 303
    assert parse_qs(urlsplit(missing.headers["location"]).query)["error"] == ["consent_required"]
    await answer(client, await consent(client, oauth_app), "approve")
    granted = await consent(client, oauth_app, prompt="none", state="n")
    assert granted.status_code == 303
    assert "code" in parse_qs(urlsplit(granted.headers["location"]).query)


async def test_the_json_endpoints_approval_is_not_remembered(client, oauth_app, alice, app):
    from tests.helpers import authorize

    assert (await authorize(client, alice, oauth_app)).status_code == 200
    assert await stored_rows(app, Consent) == []
    await page_login(client)
    assert (await consent(client, oauth_app)).status_code == 200  # still asks


async def test_an_answer_without_the_csrf_token_or_from_elsewhere_is_refused(
    client, oauth_app, app
):
    await page_login(client)
    page = await consent(client, oauth_app)
    for changes, headers in [
        ({"csrf_token": None}, PAGE_ORIGIN),
        ({"csrf_token": "0" * 64}, PAGE_ORIGIN),
        ({}, {"Origin": "https://evil.example"}),
        ({}, {"Origin": "null"}),
        ({}, {"Referer": "https://evil.example/page"}),
    ]:
        form = {**PageParts(page.text).form_to(PAGE)["inputs"], "decision": "approve", **changes}
        data = {k: v for k, v in form.items() if v is not None}
        refused = await client.post(PAGE, data=data, headers=headers)
        assert refused.status_code == 403, (changes, headers)
        assert_page_headers(refused)
        assert "location" not in refused.headers
    assert await codes_stored(app) == 0
    assert await stored_rows(app, Consent) == []


async def test_an_answer_without_a_session_goes_to_the_login_and_back(client, oauth_app, app):
    await page_login(client)
    page = await consent(client, oauth_app, state="st")
    client.cookies.clear()
    response = await answer(client, page, "approve")
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    back = urlsplit(parse_qs(location.query)["next"][0])
    assert back.path == PAGE
    assert parse_qs(back.query) == {
        "client_id": [oauth_app["client_id"]],
        "response_type": ["code"],
        "state": ["st"],
    }
    assert await codes_stored(app) == 0


async def test_an_answer_is_checked_again_by_the_engine(client, oauth_app, app):
    await page_login(client)
    page = await consent(client, oauth_app)
    for changes, error in [
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"scope": "users:write"}, "invalid_scope"),
        ({"decision": "maybe"}, "invalid_request"),
    ]:
        response = await answer(client, page, changes.pop("decision", "approve"), **changes)
        assert response.status_code == 400, changes
        assert PageParts(response.text).texts["error-code"] == error
    assert await codes_stored(app) == 0
