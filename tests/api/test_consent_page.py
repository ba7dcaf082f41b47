"""The consent page over HTTP (issue 6 §3): what it shows, its security headers, escaping of
everything from the client record or the query, and refusals rendered on the page, never
redirected. The browser flow itself is in `test_consent_browser.py`."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.consent.scope_words import SCOPE_WORDS
from app.db.models import AuthorizationCode
from app.oauth.scopes import FITTRACKEE_SCOPES
from tests.helpers import create_app as create_oauth_app
from tests.helpers import pkce_pair

PAGE = "/profile/apps/authorize"
XSS = "<script>alert(1)</script>"


VOID_ELEMENTS = {"meta", "link", "input", "br", "img", "hr"}


class PageParts(HTMLParser):
    """The bits of a page the tests look at: scripts, the JSON data block, links, and the
    text inside each element that has an id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.data_block: str | None = None
        self.texts: dict[str, str] = {}
        self.links: list[str] = []
        self._open: list[tuple[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "a":
            self.links.append(attributes.get("href") or "")
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
            if element_id == "authorization-request":
                self.data_block = (self.data_block or "") + data
            if element_id:
                self.texts[element_id] += data


def page_data(response: httpx.Response) -> dict[str, Any]:
    block = PageParts(response.text).data_block
    assert block is not None
    return json.loads(block)


def assert_page_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["content-type"] == "text/html; charset=utf-8"
    csp = [part.strip() for part in headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert "unsafe-eval" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert "location" not in headers
    assert "set-cookie" not in headers


@pytest.fixture
async def oauth_app(client: httpx.AsyncClient, alice: str) -> dict[str, Any]:
    return await create_oauth_app(
        client,
        alice,
        client_name="Trail Sync",
        client_uri="https://trails.example.com/about",
        redirect_uris=["https://trails.example.com/cb", "https://trails.example.com/cb2?keep=1"],
        scope="profile:read workouts:read workouts:write",
    )


async def consent(client: httpx.AsyncClient, oauth_app: dict[str, Any], **query: Any):
    params = {"client_id": oauth_app["client_id"], "response_type": "code", **query}
    return await client.get(PAGE, params={k: v for k, v in params.items() if v is not None})


async def codes_stored(app: FastAPI) -> int:
    async with app.state.services.db.engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(AuthorizationCode))


# --- the page -----------------------------------------------------------------------------


async def test_the_page_shows_the_app_and_its_scopes_in_plain_words(client, oauth_app, app):
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
    parts = PageParts(response.text)
    assert parts.texts["app-name"] == "Trail Sync"
    assert "https://trails.example.com/about" in parts.links
    scopes = " ".join(parts.texts["scopes"].split())
    assert "Read your profile" in scopes
    assert "Read your workouts" in scopes
    assert "Add, change and delete your workouts" not in scopes  # not asked for
    assert parts.texts["redirect-target"] == "https://trails.example.com/cb"
    # Showing the page decides nothing: no code exists until the user approves.
    assert await codes_stored(app) == 0


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


async def test_the_data_block_holds_the_request_and_the_server_computed_denial_url(
    client, oauth_app
):
    _, challenge = pkce_pair()
    query = {
        "scope": "profile:read",
        "state": "st4te",
        "redirect_uri": "https://trails.example.com/cb2?keep=1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    response = await consent(client, oauth_app, **query, utm_source="ignored", confirm="true")
    data = page_data(response)

    assert data["authorize"] == {
        "client_id": oauth_app["client_id"],
        "response_type": "code",
        **query,
    }
    denial = urlsplit(data["deny_url"])
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
    data = page_data(await consent(client, oauth_app))
    assert data["deny_url"] == (
        "https://trails.example.com/cb?error=access_denied&iss=http%3A%2F%2F127.0.0.1%3A5000"
    )
    assert "state" not in data["authorize"]


async def test_scripts_come_only_from_the_app_and_are_served(client, oauth_app):
    response = await consent(client, oauth_app)
    scripts = PageParts(response.text).scripts
    executable = [s for s in scripts if s.get("type") != "application/json"]
    assert [s.get("src") for s in executable] == ["/static/consent/consent.js"]
    assert "onclick" not in response.text and "javascript:" not in response.text

    script = await client.get("/static/consent/consent.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["x-content-type-options"] == "nosniff"
    assert "/api/oauth/authorize" in script.text
    assert "sessionStorage" in script.text
    style = await client.get("/static/consent/consent.css")
    assert style.status_code == 200
    assert style.headers["content-type"] == "text/css; charset=utf-8"


async def test_only_the_pages_own_assets_are_served(client):
    for path in (
        "/static/consent/other.js",
        "/static/consent/..%2f..%2fconfig.py",
        "/static/consent/%2e%2e/pages.py",
        "/static/consent/",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json"


async def test_the_page_answers_get_only(client, oauth_app):
    response = await client.post(PAGE, data={"client_id": oauth_app["client_id"]})
    assert response.status_code == 405
    assert response.json()["status"] == "error"


# --- escaping -----------------------------------------------------------------------------


async def test_an_app_named_like_a_script_renders_as_text(client, alice):
    hostile = await create_oauth_app(
        client, alice, client_name=XSS, client_uri="https://example.com/?a=1&b=%22%3E"
    )
    response = await consent(client, hostile)

    assert response.status_code == 200, response.text
    assert XSS not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert 'href="https://example.com/?a=1&amp;b=%22%3E"' in response.text
    parts = PageParts(response.text)
    assert parts.texts["app-name"] == XSS  # shown to the user as these very characters
    assert parts.links == ["https://example.com/?a=1&b=%22%3E"]
    assert len([s for s in parts.scripts if s.get("type") != "application/json"]) == 1


async def test_query_values_cannot_break_out_of_the_data_block(client, oauth_app):
    state = "</script><script>alert(3)</script><!--\"'&"
    response = await consent(client, oauth_app, state=state)

    assert response.status_code == 200
    assert "alert(3)</script>" not in response.text
    assert "<!--" not in response.text.split("authorization-request", 1)[1].split("</script>")[0]
    parts = PageParts(response.text)
    assert len(parts.scripts) == 2  # the data block and consent.js, nothing injected
    data = page_data(response)
    assert data["authorize"]["state"] == state
    assert parse_qs(urlsplit(data["deny_url"]).query)["state"] == [state]


# --- refusals are shown, never redirected -------------------------------------------------


async def assert_refused(response: httpx.Response, error: str, message: str) -> None:
    assert response.status_code == 400, response.text
    assert_page_headers(response)
    parts = PageParts(response.text)
    assert parts.texts["error-code"] == error
    assert parts.texts["error-message"] == message
    assert parts.data_block is None
    assert not [s for s in parts.scripts if s.get("src")]
    assert parts.links == []


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
        response = await consent(client, oauth_app, redirect_uri=redirect_uri, state="s")
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
    response = await client.get(
        path, params={"client_id": oauth_app["client_id"], "response_type": "code"}
    )
    assert response.status_code == 200
    assert_page_headers(response)
