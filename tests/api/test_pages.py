"""The account pages over HTTP (issue 12): log in and out, register, the user's apps and the
apps they let in, on the cookie session; its cookie's attributes, lifetimes and revocation,
CSRF and Origin on every form, and the same limits and messages as the JSON API. The
browser journeys are in `test_pages_browser.py`."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app import clock
from app.db.models import OAuth2Client, User, WebSession
from app.oauth.secrets import hash_secret
from tests.api.test_consent_page import PageParts, assert_no_script, assert_page_headers
from tests.databases import stored_rows
from tests.helpers import (
    PAGE_ORIGIN,
    PASSWORD,
    bearer,
    create_app,
    form_value,
    introspect_request,
    issue_tokens,
    page_login,
    profile_status,
    refresh_tokens,
    register,
    user_token,
)

COOKIE = "fittrackee_session"


class Labels(HTMLParser):
    """Every form control that a person fills in, and the labels pointing at them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.controls: list[str | None] = []
        self.labelled: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("input", "textarea", "select") and attributes.get("type") != "hidden":
            self.controls.append(attributes.get("id"))
        if tag == "label" and attributes.get("for"):
            self.labelled.add(attributes["for"] or "")


def assert_a_page(response: httpx.Response, status: int = 200) -> PageParts:
    """The page's status, headers (CSP without script, no-store...), no script, every
    control labelled, and the one stylesheet."""
    assert response.status_code == status, response.text
    assert_page_headers(response)
    assert_no_script(response)
    labels = Labels(response.text)
    assert None not in labels.controls
    assert set(labels.controls) <= labels.labelled, set(labels.controls) - labels.labelled
    assert response.text.count('rel="stylesheet"') == 1
    assert 'href="/static/pages/pages.css"' in response.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in response.text
    return PageParts(response.text)


def set_cookie(response: httpx.Response, name: str = COOKIE) -> dict[str, str]:
    """The attributes of the Set-Cookie header for `name` (lower-cased keys)."""
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        key, _, value = first.partition("=")
        if key == name:
            found = {"value": value}
            for attribute in attributes:
                attr, _, attr_value = attribute.partition("=")
                found[attr.lower()] = attr_value
            return found
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def location(response: httpx.Response) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 303, response.text
    parts = urlsplit(response.headers["location"])
    return parts.path, parse_qs(parts.query)


async def csrf(client: httpx.AsyncClient, path: str = "/profile/apps") -> str:
    return form_value((await client.get(path)).text, "csrf_token")


async def post_form(
    client: httpx.AsyncClient, path: str, token: str | None, **fields: str
) -> httpx.Response:
    data = {**fields, **({"csrf_token": token} if token is not None else {})}
    return await client.post(path, data=data, headers=PAGE_ORIGIN)


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> str:
    """alice, registered, with an auth token for the JSON API (and no session yet)."""
    return await user_token(client, "alice")


# --- logging in -------------------------------------------------------------------------------


async def test_the_login_page(client):
    parts = assert_a_page(await client.get("/login"))
    form = parts.form_to("/login")
    assert set(form["inputs"]) == {"next", "email", "password"}
    assert form["inputs"]["next"] == "/profile/apps"
    assert "register-link" in parts.links.values()


async def test_logging_in_starts_a_session_in_an_httponly_cookie(client, app, alice):
    response = await page_login(client)
    assert location(response) == ("/profile/apps", {})
    cookie = set_cookie(response)
    assert cookie["httponly"] == "" and cookie["samesite"] == "lax" and cookie["path"] == "/"
    assert cookie["max-age"] == "43200"
    assert "secure" not in cookie  # plain http here
    assert len(cookie["value"]) >= 43
    [row] = await stored_rows(app, WebSession)
    assert row["secret_hash"] == hash_secret(cookie["value"])
    assert cookie["value"] not in str(row)  # only its hash is stored
    assert row["expires_at"] - row["created_at"] == clock.timedelta(seconds=43200)
    page = assert_a_page(await client.get("/profile/apps"))
    assert page.texts["username"] == "alice"


async def test_the_login_goes_back_to_a_page_of_this_site_only(client, alice):
    for next_url, expected in [
        ("/profile/apps/connected", "/profile/apps/connected"),
        ("/profile/apps/authorize?client_id=x&response_type=code", "/profile/apps/authorize"),
        ("//evil.example/x", "/profile/apps"),
        ("/\\evil.example", "/profile/apps"),
        ("https://evil.example/", "/profile/apps"),
        ("javascript:alert(1)", "/profile/apps"),
        ("/profile\r\nSet-Cookie: x=y", "/profile/apps"),
    ]:
        client.cookies.clear()
        response = await page_login(client, next_url=next_url)
        assert urlsplit(response.headers["location"]).path == expected, next_url
        assert urlsplit(response.headers["location"]).netloc == ""


async def test_a_wrong_password_is_the_apis_answer_on_the_page(client, app, alice):
    form = {"email": "alice@example.com", "password": "wrong password"}
    response = await client.post("/login", data=form, headers=PAGE_ORIGIN)
    parts = assert_a_page(response, 401)
    assert parts.texts["form-message"] == "invalid credentials"
    assert parts.form_to("/login")["inputs"]["email"] == "alice@example.com"
    assert "set-cookie" not in response.headers
    unknown = {"email": "nobody@example.com", "password": PASSWORD}
    assert (await client.post("/login", data=unknown, headers=PAGE_ORIGIN)).status_code == 401
    missing = await client.post("/login", data={"email": "a@b.c"}, headers=PAGE_ORIGIN)
    assert_a_page(missing, 400)
    assert await stored_rows(app, WebSession) == []


async def test_a_login_from_another_site_is_refused(client, app, alice):
    form = {"email": "alice@example.com", "password": PASSWORD}
    for headers in ({}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/"}):
        response = await client.post("/login", data=form, headers=headers)
        assert_a_page(response, 403)
    assert await stored_rows(app, WebSession) == []
    # A Referer of this site stands in for a missing Origin.
    response = await client.post(
        "/login", data=form, headers={"Referer": "http://testserver/login"}
    )
    assert response.status_code == 303


async def test_page_and_api_logins_share_the_brute_force_limits(server_with, client):
    await register(client, "alice")
    limits = {"rate_limits_enabled": True, "rate_limit_login_failures": 2}
    async with server_with(**limits) as http:
        wrong = {"email": "alice@example.com", "password": "nope nope nope"}
        for _ in range(2):
            assert (await http.post("/login", data=wrong, headers=PAGE_ORIGIN)).status_code == 401
        limited = await http.post("/login", data=wrong, headers=PAGE_ORIGIN)
        assert_a_page(limited, 429)
        assert int(limited.headers["retry-after"]) > 0
        assert PageParts(limited.text).texts["form-message"] == "too many requests, retry later"
        api = await http.post("/api/auth/login", json={**wrong, "password": PASSWORD})
        assert api.status_code == 429  # the same key, counted before the password


async def test_a_logged_in_visit_to_the_login_page_goes_on(client, alice):
    await page_login(client)
    response = await client.get("/login", params={"next": "/profile/apps/connected"})
    assert location(response) == ("/profile/apps/connected", {})


async def test_over_https_the_cookie_is_secure_and_host_only(app, alice):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as https:
        form = {"email": "alice@example.com", "password": PASSWORD}
        response = await https.post("/login", data=form, headers={"Origin": "https://testserver"})
        cookie = set_cookie(response, f"__Host-{COOKIE}")
        assert "secure" in cookie and cookie["path"] == "/" and "domain" not in cookie
        assert (await https.get("/profile/apps")).status_code == 200


async def test_with_an_https_issuer_the_cookie_is_secure(server_with, client):
    await register(client, "alice")
    async with server_with(issuer="https://oauth.example.com") as http:
        form = {"email": "alice@example.com", "password": PASSWORD}
        response = await http.post(
            "/login", data=form, headers={"Origin": "https://oauth.example.com"}
        )
        assert "secure" in set_cookie(response, f"__Host-{COOKIE}")


# --- the session ------------------------------------------------------------------------------


async def test_a_page_without_a_session_goes_to_the_login(client):
    for path in (
        "/profile/apps",
        "/profile/apps/new",
        "/profile/apps/7",
        "/profile/apps/connected",
    ):
        assert location(await client.get(path, params={"page": "2"})) == (
            "/login",
            {"next": [f"{path}?page=2"]},
        )


async def test_the_json_api_never_takes_the_cookie(client, alice):
    await page_login(client)
    assert (await client.get("/api/oauth/apps")).status_code == 401
    assert (await client.get("/api/oauth/authorized_apps")).status_code == 401
    assert (await client.get("/api/auth/profile")).status_code == 401


async def test_the_session_ends_after_its_idle_time(server_with, client):
    await register(client, "alice")
    async with server_with(web_session_idle_timeout=120, web_session_lifetime=600) as http:
        await page_login(http)
        clock.advance(100)
        assert (await http.get("/profile/apps")).status_code == 200  # moves the deadline
        clock.advance(100)
        assert (await http.get("/profile/apps")).status_code == 200
        clock.advance(121)
        assert location(await http.get("/profile/apps"))[0] == "/login"


async def test_the_session_ends_at_its_lifetime_however_active(server_with, client):
    await register(client, "alice")
    async with server_with(web_session_idle_timeout=120, web_session_lifetime=300) as http:
        await page_login(http)
        for _ in range(2):
            clock.advance(100)
            assert (await http.get("/profile/apps")).status_code == 200
        clock.advance(101)
        assert location(await http.get("/profile/apps"))[0] == "/login"


async def test_a_page_view_writes_at_most_once_a_minute(client, alice, statements):
    await page_login(client)
    statements.clear()
    await client.get("/profile/apps")
    assert "UPDATE" not in statements
    clock.advance(61)
    statements.clear()
    await client.get("/profile/apps")
    await client.get("/profile/apps")
    assert statements.count("UPDATE") == 1


async def test_logging_out_ends_the_session_everywhere(client, app, alice):
    await page_login(client)
    secret = client.cookies[COOKIE]
    token = await csrf(client)
    response = await post_form(client, "/logout", token)
    assert location(response) == ("/login", {})
    cleared = set_cookie(response)
    assert cleared["value"] in ("", '""') and cleared["max-age"] == "0"
    assert await stored_rows(app, WebSession) == []
    # Another browser holding the same cookie (another worker, the same row) is logged out.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies={COOKIE: secret}
    ) as other:
        assert location(await other.get("/profile/apps"))[0] == "/login"


async def test_a_logout_without_the_csrf_token_is_refused(client, app, alice):
    await page_login(client)
    assert_a_page(await post_form(client, "/logout", None, next="/login"), 403)
    assert_a_page(await post_form(client, "/logout", "x" * 64), 403)
    assert len(await stored_rows(app, WebSession)) == 1
    assert (await client.get("/profile/apps")).status_code == 200


async def test_a_deactivated_users_session_opens_nothing(client, app, alice):
    await page_login(client)
    async with app.state.services.db.engine.begin() as conn:
        from sqlalchemy import update

        await conn.execute(update(User).values(is_active=False))
    assert location(await client.get("/profile/apps"))[0] == "/login"


async def test_a_new_login_replaces_the_browsers_session(client, app, alice):
    await page_login(client)
    first = client.cookies[COOKIE]
    await client.post(
        "/login", data={"email": "alice@example.com", "password": PASSWORD}, headers=PAGE_ORIGIN
    )
    assert client.cookies[COOKIE] != first
    [row] = await stored_rows(app, WebSession)
    assert row["secret_hash"] == hash_secret(client.cookies[COOKIE])


# --- registering ------------------------------------------------------------------------------


async def test_registering_on_the_page_logs_in(client, app):
    assert_a_page(await client.get("/register"))
    form = {
        "username": "carol",
        "email": "carol@example.com",
        "password": PASSWORD,
        "accepted_policy": "true",
        "next": "/profile/apps/connected",
    }
    response = await client.post("/register", data=form, headers=PAGE_ORIGIN)
    assert location(response) == ("/profile/apps/connected", {})
    assert (await client.get("/profile/apps/connected")).status_code == 200
    [user] = await stored_rows(app, User)
    assert user["username"] == "carol"


async def test_registration_refusals_are_the_apis(client, app):
    form = {"username": "x", "email": "not an e-mail", "password": "short"}
    response = await client.post(
        "/register", data={**form, "accepted_policy": "true"}, headers=PAGE_ORIGIN
    )
    parts = assert_a_page(response, 400)
    assert parts.texts["form-message"].splitlines() == [
        "username: 3 to 30 characters required",
        "email: valid email must be provided",
        "password: 8 characters required",
    ]
    policy = await client.post("/register", data=form, headers=PAGE_ORIGIN)
    assert "you must agree privacy policy" in PageParts(policy.text).texts["form-message"]
    assert await stored_rows(app, User) == []


async def test_registration_closed(server_with):
    async with server_with(registration_enabled=False) as http:
        assert_a_page(await http.get("/register"), 403)
        form = {"username": "dave", "email": "d@example.com", "password": PASSWORD}
        response = await http.post(
            "/register", data={**form, "accepted_policy": "true"}, headers=PAGE_ORIGIN
        )
        assert_a_page(response, 403)
        assert "register-link" not in PageParts((await http.get("/login")).text).links.values()


# --- the user's apps --------------------------------------------------------------------------


async def test_the_list_shows_the_users_own_apps_only(client, alice):
    bob = await user_token(client, "bob")
    mine = await create_app(client, alice, client_name="Mine <b>")
    await create_app(client, bob, client_name="Bob's")
    await page_login(client)
    parts = assert_a_page(await client.get("/profile/apps"))
    assert f"/profile/apps/{mine['id']}" in parts.links
    assert "Mine <b>" in parts.texts["apps"] and "Bob's" not in parts.texts["apps"]
    assert "&lt;b&gt;" in (await client.get("/profile/apps")).text


async def test_the_list_is_paged_like_the_api(client, alice):
    for n in range(6):
        await create_app(client, alice, client_name=f"app {n}")
    await page_login(client)
    first = PageParts((await client.get("/profile/apps")).text)
    assert "/profile/apps?page=2" in first.links
    second = PageParts((await client.get("/profile/apps?page=2")).text)
    assert "app 0" in second.texts["apps"] and "/profile/apps?page=1" in second.links
    assert (await client.get("/profile/apps?page=abc")).status_code == 200  # the first page


async def created(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    token = await csrf(client, "/profile/apps/new")
    form = {
        "client_name": "Trail Sync",
        "client_uri": "https://trails.example.com",
        "client_description": "Syncs trails",
        "redirect_uris": "https://trails.example.com/cb\r\nhttp://127.0.0.1:8000/cb\r\n",
        "scope.profile:read": "on",
        "scope.workouts:read": "on",
        **fields,
    }
    return await post_form(client, "/profile/apps/new", token, **form)


async def test_creating_an_app_shows_its_secret_once(client, app, alice):
    await page_login(client)
    assert_a_page(await client.get("/profile/apps/new"))
    response = await created(client)
    path, _ = location(response)
    [row] = await stored_rows(app, OAuth2Client)
    assert path == f"/profile/apps/{row['id']}/created"
    flash = set_cookie(response, "fittrackee_new_secret")
    assert flash["path"] == path and flash["samesite"] == "strict" and "httponly" in flash
    assert int(flash["max-age"]) <= 120

    shown = await client.get(path)
    parts = assert_a_page(shown)
    secret = parts.texts["client-secret"]
    assert hash_secret(secret) == row["client_secret_hash"]
    assert set_cookie(shown, "fittrackee_new_secret")["max-age"] == "0"
    assert row["redirect_uris"] == ["https://trails.example.com/cb", "http://127.0.0.1:8000/cb"]
    assert row["scope"] == "profile:read workouts:read"
    oauth_app = {"client_id": row["client_id"], "client_secret": secret}
    introspected = await introspect_request(client, oauth_app, token="anything")
    assert introspected.status_code == 200  # the secret authenticates the app

    again = assert_a_page(await client.get(path))
    assert "client-secret" not in again.texts
    assert "secret-gone" in again.texts
    assert secret not in (await client.get(path)).text


async def test_a_forged_secret_cookie_shows_nothing(client, app, alice):
    await page_login(client)
    path, _ = location(await created(client))
    client.cookies.set("fittrackee_new_secret", "<b>not the secret</b>", path=path)
    parts = assert_a_page(await client.get(path))
    assert "client-secret" not in parts.texts and "not the secret" not in str(parts.texts)


async def test_a_refused_app_shows_the_apis_message_and_keeps_the_form(client, app, alice):
    await page_login(client)
    response = await created(client, redirect_uris="ftp://example.com/cb")
    parts = assert_a_page(response, 400)
    assert parts.texts["form-message"] == "Invalid redirect URI scheme"
    assert 'value="Trail Sync"' in response.text and "ftp://example.com/cb" in response.text
    assert " checked>" in response.text
    no_scope = await created(client, **{"scope.profile:read": "", "scope.workouts:read": ""})
    assert PageParts(no_scope.text).texts["form-message"].startswith("OAuth2 client")
    assert await stored_rows(app, OAuth2Client) == []


async def test_an_app_page_and_another_users_app(client, alice):
    bob = await user_token(client, "bob")
    mine = await create_app(client, alice, client_description=None)
    theirs = await create_app(client, bob)
    await page_login(client)
    parts = assert_a_page(await client.get(f"/profile/apps/{mine['id']}"))
    assert parts.texts["client-id"] == mine["client_id"]
    assert parts.texts["description"] == "None given"
    assert f"/profile/apps/{mine['id']}/revoke" in parts.links
    assert f"/profile/apps/{mine['id']}/delete" in parts.links
    for path in (
        f"/profile/apps/{theirs['id']}",
        f"/profile/apps/{theirs['id']}/delete",
        f"/profile/apps/{theirs['id']}/revoke",
        "/profile/apps/99999999999",
    ):
        assert_a_page(await client.get(path), 404)
    token = await csrf(client)
    assert_a_page(await post_form(client, f"/profile/apps/{theirs['id']}/delete", token), 404)
    assert (
        await client.get(f"/api/oauth/apps/{theirs['id']}/by_id", headers=bearer(bob))
    ).status_code == 200


async def test_revoking_all_tokens_after_a_confirmation(client, alice):
    oauth_app = await create_app(client, alice)
    tokens = await issue_tokens(client, alice, oauth_app)
    await page_login(client)
    confirm = assert_a_page(await client.get(f"/profile/apps/{oauth_app['id']}/revoke"))
    form = confirm.form_to(f"/profile/apps/{oauth_app['id']}/revoke")
    assert await profile_status(client, tokens["access_token"]) == 200  # nothing yet
    response = await post_form(client, form["action"], form["inputs"]["csrf_token"])
    assert location(response) == (f"/profile/apps/{oauth_app['id']}", {"done": ["revoked"]})
    assert await profile_status(client, tokens["access_token"]) == 401
    notice = PageParts((await client.get(response.headers["location"])).text).texts["notice"]
    assert "revoked" in notice


async def test_deleting_an_app_after_a_confirmation(client, app, alice):
    oauth_app = await create_app(client, alice)
    await page_login(client)
    confirm = assert_a_page(await client.get(f"/profile/apps/{oauth_app['id']}/delete"))
    assert confirm.link_with_id("cancel") == f"/profile/apps/{oauth_app['id']}"
    assert len(await stored_rows(app, OAuth2Client)) == 1
    token = confirm.form_to(f"/profile/apps/{oauth_app['id']}/delete")["inputs"]["csrf_token"]
    response = await post_form(client, f"/profile/apps/{oauth_app['id']}/delete", token)
    assert location(response) == ("/profile/apps", {"done": ["deleted"]})
    assert await stored_rows(app, OAuth2Client) == []


async def test_forms_without_the_csrf_token_change_nothing(client, app, alice):
    oauth_app = await create_app(client, alice)
    tokens = await issue_tokens(client, alice, oauth_app)
    await page_login(client)
    for path in (
        f"/profile/apps/{oauth_app['id']}/revoke",
        f"/profile/apps/{oauth_app['id']}/delete",
        f"/profile/apps/connected/{oauth_app['client_id']}/remove",
        "/profile/apps/new",
    ):
        assert_a_page(await post_form(client, path, None, client_name="x"), 403)
        assert_a_page(await post_form(client, path, "f" * 64, client_name="x"), 403)
        other_site = await client.post(
            path,
            data={"csrf_token": await csrf(client)},
            headers={"Origin": "https://evil.example"},
        )
        assert_a_page(other_site, 403)
    assert len(await stored_rows(app, OAuth2Client)) == 1
    assert await profile_status(client, tokens["access_token"]) == 200


async def test_a_form_posted_without_a_session_goes_to_the_login(client, app, alice):
    oauth_app = await create_app(client, alice)
    response = await post_form(client, f"/profile/apps/{oauth_app['id']}/delete", "x")
    assert location(response) == ("/login", {"next": [f"/profile/apps/{oauth_app['id']}"]})
    assert len(await stored_rows(app, OAuth2Client)) == 1


# --- connected apps ---------------------------------------------------------------------------


async def test_connected_apps_lists_what_each_holds_and_removes_access(client, alice):
    bob = await user_token(client, "bob")
    oauth_app = await create_app(client, bob, client_name="Trail <Sync>")
    tokens = await issue_tokens(client, alice, oauth_app, scope="profile:read")
    await page_login(client)
    page = await client.get("/profile/apps/connected")
    parts = assert_a_page(page)
    listed = parts.texts["connected"]
    assert "Trail <Sync>" in listed and "Read your profile" in listed
    assert "Read your workouts" not in listed
    remove = f"/profile/apps/connected/{oauth_app['client_id']}/remove"
    assert remove in parts.links
    assert re.search(r"<dt>Sessions</dt><dd>1</dd>", page.text)

    confirm = assert_a_page(await client.get(remove))
    assert "Trail <Sync>" in confirm.texts["question"]
    response = await post_form(client, remove, confirm.form_to(remove)["inputs"]["csrf_token"])
    assert location(response) == ("/profile/apps/connected", {"done": ["removed"]})
    assert await profile_status(client, tokens["access_token"]) == 401
    refreshed = await refresh_tokens(client, oauth_app, tokens["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"
    after = PageParts((await client.get(response.headers["location"])).text)
    assert "notice" in after.texts and "Trail" not in after.texts["connected"]


async def test_removing_an_app_not_connected_is_not_found(client, alice):
    bob = await user_token(client, "bob")
    oauth_app = await create_app(client, bob)
    bobs = await issue_tokens(client, bob, oauth_app)
    await page_login(client)
    remove = f"/profile/apps/connected/{oauth_app['client_id']}/remove"
    assert_a_page(await client.get(remove), 404)
    assert_a_page(await post_form(client, remove, await csrf(client)), 404)
    assert await profile_status(client, bobs["access_token"]) == 200
