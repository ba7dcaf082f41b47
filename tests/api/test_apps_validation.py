"""Create-app validation: FitTrackee's messages where FitTrackee checks, a clear 400 where it
does not (redirect URIs per RFC 8252 / RFC 9700 §4.1, length limits, body shape); and the
pure rules of `app.clients` without HTTP."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from app.clients.credentials import new_client_credentials
from app.clients.errors import InvalidClientMetadata, InvalidPage
from app.clients.metadata import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_REDIRECT_URIS,
    MAX_URI_LENGTH,
    RegistrationRules,
    parse_client_metadata,
)
from app.clients.pagination import MAX_PAGE, Pagination, page_number
from app.clients.uris import (
    INVALID_SCHEME,
    is_loopback_host,
    private_use_schemes,
    redirect_uri_problem,
    website_problem,
)
from app.db.models import OAuth2Client
from app.oauth.scopes import ScopeCatalogue
from app.oauth.secrets import hash_secret
from tests.helpers import app_payload, bearer, user_token

RULES = RegistrationRules(ScopeCatalogue.for_version((1, 3, 6)), private_use_schemes())
INVALID_PAYLOAD = {"message": "invalid payload", "status": "error"}
INVALID_SCOPES = {"message": "OAuth2 client invalid scopes", "status": "error"}


async def stored_clients(app: Any) -> int:
    async with app.state.services.db.engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(OAuth2Client))


async def post(client, token: str, **kwargs: Any):
    return await client.post("/api/oauth/apps", headers=bearer(token), **kwargs)


def payload_without(*keys: str, **overrides: Any) -> dict[str, Any]:
    payload = app_payload(**overrides)
    for key in keys:
        del payload[key]
    return payload


# --- FitTrackee's messages -------------------------------------------------------------------


async def test_empty_object_is_metadata_missing(client, app):
    token = await user_token(client)
    response = await post(client, token, json={})
    assert response.status_code == 400
    assert response.json() == {"message": "OAuth2 client metadata missing", "status": "error"}
    assert await stored_clients(app) == 0


@pytest.mark.parametrize(
    ("payload", "missing"),
    [
        ({"client_name": "x"}, "client_uri, redirect_uris, scope"),
        (payload_without("redirect_uris"), "redirect_uris"),
        (payload_without("client_name", "scope"), "client_name, scope"),
        ({"client_description": "only this"}, "client_name, client_uri, redirect_uris, scope"),
    ],
)
async def test_missing_keys_are_named_in_fittrackee_order(client, app, payload, missing):
    token = await user_token(client)
    response = await post(client, token, json=payload)
    assert response.status_code == 400
    assert response.json() == {
        "message": f"OAuth2 client metadata missing keys: {missing}",
        "status": "error",
    }
    assert await stored_clients(app) == 0


@pytest.mark.parametrize(
    "scope", ["admin:all", "", "   ", ["profile:read"], None, 7, "profile:read " + "x" * 500]
)
async def test_invalid_scopes(client, app, scope):
    token = await user_token(client)
    response = await post(client, token, json=app_payload(scope=scope))
    assert response.status_code == 400
    assert response.json() == INVALID_SCOPES
    assert await stored_clients(app) == 0


async def test_scope_is_checked_before_the_other_fields_as_in_fittrackee(client):
    token = await user_token(client)
    payload = app_payload(scope="admin:all", redirect_uris=["javascript:alert(1)"])
    response = await post(client, token, json=payload)
    assert response.json() == INVALID_SCOPES


# --- body shape ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": [1, 2]},
        {"json": None},
        {"json": "a string"},
        {"json": 42},
        {"content": b"{bad json", "headers": {"Content-Type": "application/json"}},
        {"content": b"", "headers": {"Content-Type": "application/json"}},
        {"content": b'{"a": "\\ud800"}', "headers": {"Content-Type": "application/json"}},
        {"content": b"\xff\xfe", "headers": {"Content-Type": "application/json"}},
        {"data": {"client_name": "x"}},
        {"files": {"client_name": (None, "x")}},
        {"content": b'{"client_name": "x"}', "headers": {"Content-Type": "text/plain"}},
        {"content": b'{"client_name": "x"}'},
    ],
    ids=[
        "array",
        "null",
        "string",
        "number",
        "malformed",
        "empty",
        "lone-surrogate",
        "not-utf8",
        "form",
        "multipart",
        "text-plain",
        "no-content-type",
    ],
)
async def test_a_body_that_is_not_a_json_object_is_invalid_payload(client, app, kwargs):
    token = await user_token(client)
    headers = {**bearer(token), **kwargs.pop("headers", {})}
    response = await client.post("/api/oauth/apps", headers=headers, **kwargs)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == INVALID_PAYLOAD
    assert await stored_clients(app) == 0


async def test_json_with_charset_and_json_suffix_media_types_are_accepted(client):
    token = await user_token(client)
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await client.post(
            "/api/oauth/apps",
            content=orjson.dumps(app_payload()),
            headers={**bearer(token), "Content-Type": content_type},
        )
        assert response.status_code == 201, content_type


async def test_a_body_over_the_size_limit_is_413_json(client, app):
    token = await user_token(client)
    response = await post(client, token, json=app_payload(client_description="d" * 70_000))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert await stored_clients(app) == 0


# --- redirect_uris ---------------------------------------------------------------------------

GOOD_REDIRECT_URIS = [
    "https://example.com/cb",
    "https://example.com:8443/cb?x=1&y=%20",
    "https://sub.example.co.uk/",
    "https://203.0.113.7/cb",
    "https://[2001:db8::1]/cb",
    "http://127.0.0.1:8999/cb",
    "http://127.5.6.7/cb",
    "http://[::1]:3000/cb",
    "http://localhost/cb",
    "http://LOCALHOST:8080/cb",
    "com.example.app:/oauth2redirect/example-provider",
    "org.fittrackee.mobile:/callback",
    # FitTrackee 1.3.5's private-use schemes for non-web apps.
    "indoorbike://callback",
    "myapp://callback",
    "app:/callback",
    "MyApp:/oauth/callback?x=1",
]

# Where FitTrackee 1.3.5 answers `Invalid redirect URI scheme` (a scheme it does not accept,
# or none), so does this server, word for word.
SCHEME_REFUSALS = {
    "relative": "/cb",
    "not-a-uri": "not a url",
    "no-scheme": "example.com/cb",
    "javascript": "javascript:alert(1)",
    "data": "data:text/html,hi",
    "data-with-markup": "data:text/html,<script>alert(1)</script>",
    "file": "file:///etc/passwd",
    "ftp": "ftp://example.com/cb",
    "unlisted-private-scheme": "otherapp:/cb",
    "bad-scheme-characters": "my_app://cb",
    "empty": "",
}

BAD_REDIRECT_URIS = {
    "http-not-loopback": "http://example.com/cb",
    "http-private-ip": "http://192.168.1.10/cb",
    "http-loopback-lookalike": "http://127.0.0.1.example.com/cb",
    "http-short-ip": "http://127.1/cb",
    "http-ipv4-mapped": "http://[::ffff:127.0.0.1]/cb",
    "fragment": "https://example.com/cb#frag",
    "empty-fragment": "https://example.com/cb#",
    "no-host": "https:///cb",
    "opaque-https": "https:example.com",
    "private-scheme-without-path": "com.example.app:",
    "fittrackee-scheme-without-path": "myapp://",
    "fittrackee-scheme-fragment": "indoorbike://callback#x",
    "userinfo": "https://good.example@evil.example/cb",
    "space": "https://example.com/a b",
    "backslash": "https://example.com\\@evil.example/",
    "non-ascii": "https://exämple.com/cb",
    "control": "https://example.com/cb\n",
    "nul": "https://example.com/\x00",
    "bad-percent": "https://example.com/%zz",
    "bad-port": "https://example.com:99999/cb",
    "bad-host": "https://exa_mple.com/cb",
    "numeric-host": "https://1.2.3/cb",
    "bad-ipv6": "https://[zz::1]/cb",
    "too-long": "https://example.com/" + "a" * MAX_URI_LENGTH,
}


async def test_valid_redirect_uris_are_stored_as_given(client):
    token = await user_token(client)
    for start in range(0, len(GOOD_REDIRECT_URIS), MAX_REDIRECT_URIS):
        uris = GOOD_REDIRECT_URIS[start : start + MAX_REDIRECT_URIS]
        response = await post(client, token, json=app_payload(redirect_uris=uris))
        assert response.status_code == 201, response.text
        assert response.json()["data"]["client"]["redirect_uris"] == uris


@pytest.mark.parametrize("uri", list(BAD_REDIRECT_URIS.values()), ids=list(BAD_REDIRECT_URIS))
async def test_invalid_redirect_uri_is_refused(client, app, uri):
    token = await user_token(client)
    payload = app_payload(redirect_uris=["https://example.com/ok", uri])
    response = await post(client, token, json=payload)
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("OAuth2 client invalid redirect_uris: ")
    assert message.endswith("(redirect_uris[1])")
    assert await stored_clients(app) == 0


@pytest.mark.parametrize("uri", list(SCHEME_REFUSALS.values()), ids=list(SCHEME_REFUSALS))
async def test_a_refused_scheme_gets_fittrackees_message(client, app, uri):
    token = await user_token(client)
    payload = app_payload(redirect_uris=["https://example.com/ok", uri])
    response = await post(client, token, json=payload)
    assert response.status_code == 400
    assert response.json() == {"message": "Invalid redirect URI scheme", "status": "error"}
    assert await stored_clients(app) == 0


async def test_an_operator_lists_more_private_use_schemes(server_with):
    """OAUTH2_EXTRA_REDIRECT_SCHEMES adds schemes; without it they get FitTrackee's 400."""
    uris = ["garmin-sync://callback", "Other:/cb"]
    async with server_with(oauth2_extra_redirect_schemes="garmin-sync, OTHER") as http:
        token = await user_token(http)
        response = await post(http, token, json=app_payload(redirect_uris=uris))
        assert response.status_code == 201, response.text
        assert response.json()["data"]["client"]["redirect_uris"] == uris
    async with server_with() as http:
        token = await user_token(http, "bob")
        refused = await post(http, token, json=app_payload(redirect_uris=uris))
        assert refused.json() == {"message": "Invalid redirect URI scheme", "status": "error"}


async def test_a_scheme_the_operator_drops_stops_working_at_authorize(server_with):
    """As FitTrackee 1.3.5 checks the redirect location again at authorize: an app registered
    while a scheme was listed is refused once the operator removes it, on the consent page
    and at POST /api/oauth/authorize, with nothing issued."""
    async with server_with(oauth2_extra_redirect_schemes="garmin") as http:
        token = await user_token(http)
        payload = app_payload(redirect_uris=["garmin:/cb"])
        oauth_app = (await post(http, token, json=payload)).json()["data"]["client"]
    query = {"client_id": oauth_app["client_id"], "response_type": "code"}
    async with server_with() as http:
        page = await http.get("/profile/apps/authorize", params=query)
        assert page.status_code == 400
        assert "Invalid redirect URI scheme" in page.text
        form = {**query, "confirm": "true"}
        refused = await http.post("/api/oauth/authorize", data=form, headers=bearer(token))
        assert refused.status_code == 400
        assert refused.json()["message"] == "Invalid redirect URI scheme"
        assert refused.json()["error"] == "invalid_request"
        assert "redirect_url" not in refused.json()


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com/cb",
        [],
        None,
        {"uri": "https://example.com/cb"},
        [["https://example.com/cb"]],
        [1],
        ["https://example.com/cb"] * (MAX_REDIRECT_URIS + 1),
    ],
    ids=["string", "empty", "null", "object", "nested", "number", "too-many"],
)
async def test_redirect_uris_must_be_a_short_non_empty_array_of_strings(client, app, value):
    token = await user_token(client)
    response = await post(client, token, json=app_payload(redirect_uris=value))
    assert response.status_code == 400
    assert response.json()["message"].startswith("OAuth2 client invalid redirect_uris: ")
    assert await stored_clients(app) == 0


async def test_duplicate_redirect_uris_are_stored_once(client):
    token = await user_token(client)
    uris = ["https://a.example/cb", "https://b.example/cb", "https://a.example/cb"]
    response = await post(client, token, json=app_payload(redirect_uris=uris))
    assert response.json()["data"]["client"]["redirect_uris"] == uris[:2]


async def test_longest_redirect_uri_is_accepted(client):
    token = await user_token(client)
    uri = "https://example.com/" + "a" * (MAX_URI_LENGTH - len("https://example.com/"))
    response = await post(client, token, json=app_payload(redirect_uris=[uri]))
    assert response.status_code == 201
    assert response.json()["data"]["client"]["redirect_uris"] == [uri]


# --- the other fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_uri", "nope"),
        ("client_uri", "ftp://example.com"),
        ("client_uri", "javascript:alert(1)"),
        ("client_uri", "https://user@example.com"),
        ("client_uri", "https://example.com/" + "a" * MAX_URI_LENGTH),
        ("client_uri", 12),
        ("client_uri", None),
        ("client_name", ""),
        ("client_name", "   "),
        ("client_name", "n" * (MAX_NAME_LENGTH + 1)),
        ("client_name", "n" * 20000),
        ("client_name", 5),
        ("client_name", None),
        ("client_name", "nul\x00byte"),
        ("client_name", "line\nbreak"),
        ("client_description", "d" * (MAX_DESCRIPTION_LENGTH + 1)),
        ("client_description", 5),
        ("client_description", ["a"]),
        ("client_description", "nul\x00byte"),
    ],
)
async def test_other_fields_have_types_and_limits(client, app, field, value):
    token = await user_token(client)
    response = await post(client, token, json=app_payload(**{field: value}))
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"OAuth2 client invalid {field}: ")
    assert response.json()["status"] == "error"
    assert await stored_clients(app) == 0


async def test_longest_fields_are_accepted(client):
    token = await user_token(client)
    description = "line one\nline two\t" + "d" * (MAX_DESCRIPTION_LENGTH - 18)
    payload = app_payload(
        client_name="n" * MAX_NAME_LENGTH,
        client_description=description,
        client_uri="http://example.com/about",
    )
    response = await post(client, token, json=payload)
    assert response.status_code == 201, response.text
    created = response.json()["data"]["client"]
    assert created["name"] == "n" * MAX_NAME_LENGTH
    assert created["client_description"] == description
    assert created["website"] == "http://example.com/about"


async def test_unicode_name_and_description_round_trip(client):
    token = await user_token(client)
    payload = app_payload(client_name="  Appli vélo 🚲  ", client_description="Über — 日本")
    created = (await post(client, token, json=payload)).json()["data"]["client"]
    assert created["name"] == "Appli vélo 🚲"
    assert created["client_description"] == "Über — 日本"
    read = await client.get(f"/api/oauth/apps/{created['client_id']}", headers=bearer(token))
    assert read.json()["data"]["client"]["name"] == "Appli vélo 🚲"


async def test_extra_keys_are_ignored(client):
    token = await user_token(client)
    response = await post(client, token, json=app_payload(client_secret="mine", id=1))
    assert response.status_code == 201
    assert response.json()["data"]["client"]["client_secret"] != "mine"


# --- pure rules, no HTTP ---------------------------------------------------------------------


@pytest.mark.parametrize("uri", GOOD_REDIRECT_URIS)
def test_redirect_uri_rules_accept(uri):
    assert redirect_uri_problem(uri) is None


# The length limit belongs to the metadata, not to the URI rules.
SHAPE_REFUSALS = {k: v for k, v in BAD_REDIRECT_URIS.items() if len(v) <= MAX_URI_LENGTH}


@pytest.mark.parametrize("uri", list(SHAPE_REFUSALS.values()), ids=list(SHAPE_REFUSALS))
def test_redirect_uri_rules_refuse(uri):
    assert redirect_uri_problem(uri) not in (None, INVALID_SCHEME)


@pytest.mark.parametrize("uri", list(SCHEME_REFUSALS.values()), ids=list(SCHEME_REFUSALS))
def test_redirect_uri_rules_refuse_the_scheme(uri):
    assert redirect_uri_problem(uri) == INVALID_SCHEME


def test_redirect_uri_refusal_says_why():
    assert "loopback" in (redirect_uri_problem("http://example.com/cb") or "")
    assert "fragment" in (redirect_uri_problem("https://example.com/cb#x") or "")
    assert "RFC 8252" in (redirect_uri_problem("myapp:") or "")


def test_extra_private_use_schemes_join_fittrackees():
    schemes = private_use_schemes(["Garmin"])
    assert schemes == {"myapp", "app", "indoorbike", "garmin"}
    assert redirect_uri_problem("garmin:/cb", schemes) is None
    assert redirect_uri_problem("garmin:/cb") == INVALID_SCHEME


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.255.255.254", True),
        ("::1", True),
        ("128.0.0.1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("localhost.example.com", False),
        ("10.0.0.1", False),
        ("", False),
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://example.com", True),
        ("http://example.com/about#team", True),
        ("nope", False),
        ("mailto:a@example.com", False),
        ("https://", False),
    ],
)
def test_website_rules(uri, ok):
    assert (website_problem(uri) is None) is ok


def test_metadata_is_canonical():
    metadata = parse_client_metadata(
        app_payload(
            client_name="  Name ",
            scope="workouts:read  profile:read bogus profile:read",
            redirect_uris=["https://a.example/cb", "https://a.example/cb"],
        ),
        RULES,
    )
    assert metadata.name == "Name"
    assert metadata.scope == "profile:read workouts:read"
    assert metadata.redirect_uris == ("https://a.example/cb",)
    assert metadata.description == "desc"


@pytest.mark.parametrize("body", [[], None, "x", 1])
def test_metadata_refuses_non_objects(body):
    with pytest.raises(InvalidClientMetadata, match=r"^invalid payload$"):
        parse_client_metadata(body, RULES)


def test_credentials_are_random_alphanumerics_with_the_secret_hashed():
    first, second = new_client_credentials(), new_client_credentials()
    assert re.fullmatch(r"[A-Za-z0-9]{24}", first.client_id)
    assert re.fullmatch(r"[A-Za-z0-9]{48}", first.client_secret)
    assert first.client_secret_hash == hash_secret(first.client_secret)
    assert first.client_id != second.client_id
    assert first.client_secret != second.client_secret


@pytest.mark.parametrize(
    ("page", "expected"), [(None, 1), (-5, 1), (0, 1), (1, 1), (7, 7), (MAX_PAGE, MAX_PAGE)]
)
def test_page_number(page, expected):
    assert page_number(page) == expected


def test_page_number_refuses_absurd_pages():
    with pytest.raises(InvalidPage):
        page_number(MAX_PAGE + 1)


@pytest.mark.parametrize(
    ("page", "total", "expected"),
    [
        (1, 0, (False, False, 0)),
        (1, 5, (False, False, 1)),
        (1, 6, (True, False, 2)),
        (2, 6, (False, True, 2)),
        (3, 7, (False, True, 2)),
    ],
)
def test_pagination_block(page, total, expected):
    block = Pagination(page, 5, total).as_dict()
    assert (block["has_next"], block["has_prev"], block["pages"]) == expected
    assert block["page"] == page and block["total"] == total
