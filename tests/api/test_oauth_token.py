"""POST /api/oauth/token with grant_type=authorization_code, client authentication and the
form rules, over HTTP (issue 4 §2)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.helpers import (
    authorize,
    bearer,
    code_from,
    create_app,
    exchange_code,
    issue_tokens,
    pkce_pair,
    profile_status,
    token_request,
)

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}


async def pkce_code(client, alice, oauth_app, **fields) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    response = await authorize(
        client, alice, oauth_app, code_challenge=challenge, code_challenge_method="S256", **fields
    )
    return code_from(response), verifier


def assert_no_store(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"] == "application/json"


def assert_error(response: httpx.Response, status: int, body: dict[str, str]) -> None:
    assert response.status_code == status, response.text
    assert response.json() == body
    assert_no_store(response)


# --- success -----------------------------------------------------------------------------------


@pytest.mark.parametrize("basic", [False, True], ids=["client_secret_post", "client_secret_basic"])
async def test_code_exchange(client, alice, oauth_app, basic) -> None:
    code, verifier = await pkce_code(client, alice, oauth_app, scope="profile:read")
    response = await exchange_code(client, oauth_app, code, code_verifier=verifier, basic=basic)

    assert response.status_code == 200, response.text
    assert_no_store(response)
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert body["expires_in"] == 864000
    assert body["scope"] == "profile:read"
    assert body["token_type"] == "Bearer"
    assert len(body["access_token"]) == 42 and len(body["refresh_token"]) == 48
    assert await profile_status(client, body["access_token"]) == 200


async def test_multipart_exchange(client, alice, oauth_app) -> None:
    code, verifier = await pkce_code(client, alice, oauth_app)
    fields = {
        "client_id": oauth_app["client_id"],
        "client_secret": oauth_app["client_secret"],
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
    }
    response = await client.post(
        "/api/oauth/token", files={key: (None, value) for key, value in fields.items()}
    )
    assert response.status_code == 200, response.text


async def test_basic_credentials_are_form_urlencoded_first(client, alice, oauth_app) -> None:
    """RFC 6749 §2.3.1: id and secret are form-urlencoded before base64 (a no-op for our
    alphanumeric credentials, but a percent-encoded one must be decoded)."""
    code = code_from(await authorize(client, alice, oauth_app))
    encoded_id = "".join(f"%{ord(c):02X}" for c in oauth_app["client_id"])
    raw = f"{encoded_id}:{oauth_app['client_secret']}".encode()
    response = await client.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": code},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )
    assert response.status_code == 200, response.text


async def test_basic_with_the_same_client_id_in_the_form(client, alice, oauth_app) -> None:
    code = code_from(await authorize(client, alice, oauth_app))
    response = await client.post(
        "/api/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": oauth_app["client_id"],
        },
        auth=(oauth_app["client_id"], oauth_app["client_secret"]),
    )
    assert response.status_code == 200, response.text


# --- client authentication ---------------------------------------------------------------------


def with_secret(oauth_app: dict[str, Any], secret: str) -> dict[str, Any]:
    return {**oauth_app, "client_secret": secret}


@pytest.mark.parametrize("basic", [False, True], ids=["client_secret_post", "client_secret_basic"])
@pytest.mark.parametrize("case", ["wrong secret", "unknown client", "other client"])
async def test_invalid_client_is_401(client, alice, oauth_app, basic, case) -> None:
    code = code_from(await authorize(client, alice, oauth_app))
    if case == "wrong secret":
        credentials = with_secret(oauth_app, "wrong")
    elif case == "unknown client":
        credentials = {**oauth_app, "client_id": "nope"}
    else:
        other = await create_app(client, alice)
        credentials = with_secret(oauth_app, other["client_secret"])
    response = await exchange_code(client, credentials, code, basic=basic)
    assert_error(response, 401, {"error": "invalid_client"})
    if basic:
        assert response.headers["www-authenticate"] == 'Basic realm="oauth2"'
    else:
        assert "www-authenticate" not in response.headers
    assert (await exchange_code(client, oauth_app, code)).status_code == 200


async def test_no_client_authentication(client, alice, oauth_app) -> None:
    code = code_from(await authorize(client, alice, oauth_app))
    response = await exchange_code(client, None, code)
    assert_error(response, 401, {"error": "invalid_client"})
    response = await client.post(
        "/api/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": oauth_app["client_id"],
        },
    )
    assert_error(response, 401, {"error": "invalid_client"})


async def test_a_bearer_header_is_not_client_authentication(client, alice, oauth_app) -> None:
    code = code_from(await authorize(client, alice, oauth_app))
    response = await client.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": code},
        headers=bearer(alice),
    )
    assert_error(response, 401, {"error": "invalid_client"})
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize(
    "header",
    ["Basic", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic \xe9"],
)
async def test_malformed_basic_header(client, header) -> None:
    response = await client.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Authorization": header.encode("latin-1")},
    )
    assert_error(response, 401, {"error": "invalid_client"})
    assert response.headers["www-authenticate"] == 'Basic realm="oauth2"'


async def test_basic_and_a_client_id_for_another_client(client, alice, oauth_app) -> None:
    other = await create_app(client, alice)
    response = await client.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": other["client_id"]},
        auth=(oauth_app["client_id"], oauth_app["client_secret"]),
    )
    assert_error(response, 401, {"error": "invalid_client"})


async def test_two_authentication_methods_at_once(client, alice, oauth_app) -> None:
    code = code_from(await authorize(client, alice, oauth_app))
    response = await client.post(
        "/api/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_secret": oauth_app["client_secret"],
        },
        auth=(oauth_app["client_id"], oauth_app["client_secret"]),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("client_id", ["a\x00b", "é" * 30, "x" * 5000])
async def test_odd_client_ids_are_invalid_client_not_500(client, client_id) -> None:
    response = await token_request(
        client,
        {"client_id": client_id, "client_secret": "s"},
        grant_type="authorization_code",
        code="x",
    )
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] in ("invalid_client", "invalid_request")


# --- the code ----------------------------------------------------------------------------------


async def test_replayed_code_is_refused_and_revokes_the_tokens(client, alice, oauth_app) -> None:
    code, verifier = await pkce_code(client, alice, oauth_app)
    first = await exchange_code(client, oauth_app, code, code_verifier=verifier)
    access = first.json()["access_token"]
    assert await profile_status(client, access) == 200

    again = await exchange_code(client, oauth_app, code, code_verifier=verifier)
    assert_error(
        again, 400, {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}
    )
    assert await profile_status(client, access) == 401
    refreshed = await token_request(
        client, oauth_app, grant_type="refresh_token", refresh_token=first.json()["refresh_token"]
    )
    assert_error(refreshed, 400, {"error": "invalid_grant"})


@pytest.mark.parametrize(
    ("verifier", "status", "body"),
    [
        (
            pkce_pair()[0],
            400,
            {"error": "invalid_grant", "error_description": "Code challenge failed."},
        ),
        (None, 400, {"error": "invalid_request", "error_description": 'Missing "code_verifier"'}),
    ],
)
async def test_failed_pkce_burns_the_code(client, alice, oauth_app, verifier, status, body) -> None:
    code, good_verifier = await pkce_code(client, alice, oauth_app)
    response = await exchange_code(client, oauth_app, code, code_verifier=verifier)
    assert_error(response, status, body)
    retry = await exchange_code(client, oauth_app, code, code_verifier=good_verifier)
    assert_error(
        retry, 400, {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}
    )


async def test_malformed_verifier(client, alice, oauth_app) -> None:
    code, _ = await pkce_code(client, alice, oauth_app)
    response = await exchange_code(client, oauth_app, code, code_verifier="short")
    assert_error(
        response, 400, {"error": "invalid_request", "error_description": 'Invalid "code_verifier"'}
    )


async def test_verifier_without_challenge_is_refused(client, alice, oauth_app) -> None:
    code = code_from(await authorize(client, alice, oauth_app))
    response = await exchange_code(client, oauth_app, code, code_verifier=pkce_pair()[0])
    assert_error(
        response, 400, {"error": "invalid_grant", "error_description": "Code challenge failed."}
    )


async def test_code_is_bound_to_its_client(client, alice, oauth_app) -> None:
    other = await create_app(client, alice)
    code = code_from(await authorize(client, alice, oauth_app))
    response = await exchange_code(client, other, code)
    assert_error(
        response, 400, {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}
    )


@pytest.mark.parametrize("sent", [None, "https://example.com/cb"])
async def test_code_is_bound_to_its_redirect_uri(client, alice, oauth_app, sent) -> None:
    code = code_from(
        await authorize(client, alice, oauth_app, redirect_uri="https://example.com/cb2")
    )
    response = await exchange_code(client, oauth_app, code, redirect_uri=sent)
    assert_error(
        response,
        400,
        {"error": "invalid_grant", "error_description": 'Invalid "redirect_uri" in request.'},
    )


async def test_same_redirect_uri(client, alice, oauth_app) -> None:
    code = code_from(
        await authorize(client, alice, oauth_app, redirect_uri="https://example.com/cb2")
    )
    response = await exchange_code(client, oauth_app, code, redirect_uri="https://example.com/cb2")
    assert response.status_code == 200


async def test_unknown_and_missing_code(client, oauth_app) -> None:
    response = await exchange_code(client, oauth_app, "nope")
    assert_error(
        response, 400, {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}
    )
    response = await token_request(client, oauth_app, grant_type="authorization_code")
    assert_error(
        response,
        400,
        {"error": "invalid_request", "error_description": 'Missing "code" in request.'},
    )


# --- grant types, methods and forms ------------------------------------------------------------


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit", "CODE"])
async def test_unsupported_grant_types(client, oauth_app, grant_type) -> None:
    response = await token_request(client, oauth_app, grant_type=grant_type)
    assert_error(response, 400, {"error": "unsupported_grant_type"})


async def test_missing_grant_type(client, oauth_app) -> None:
    response = await token_request(client, oauth_app, code="x")
    assert_error(
        response,
        400,
        {"error": "invalid_request", "error_description": 'Missing "grant_type" in request.'},
    )


async def test_get_is_405_json(client) -> None:
    response = await client.get("/api/oauth/token")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert response.headers["allow"] == "POST"


async def test_json_body_is_invalid_request(client, oauth_app) -> None:
    response = await client.post(
        "/api/oauth/token",
        json={
            "grant_type": "authorization_code",
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert_no_store(response)


@pytest.mark.parametrize("twice", ["code", "client_secret", "grant_type"])
async def test_parameter_sent_twice(client, alice, oauth_app, twice) -> None:
    code = code_from(await authorize(client, alice, oauth_app))
    fields = [
        ("grant_type", "authorization_code"),
        ("client_id", oauth_app["client_id"]),
        ("client_secret", oauth_app["client_secret"]),
        ("code", code),
    ]
    fields.append((twice, dict(fields)[twice]))
    body = "&".join(f"{key}={value}" for key, value in fields)
    response = await client.post("/api/oauth/token", content=body, headers=URLENCODED)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f'"{twice}" is sent more than once',
    }
    # The refused request did not spend the code.
    assert (await exchange_code(client, oauth_app, code)).status_code == 200


async def test_parameter_sent_twice_in_multipart(client, oauth_app) -> None:
    response = await client.post(
        "/api/oauth/token",
        files=[
            ("grant_type", (None, "authorization_code")),
            ("code", (None, "a")),
            ("code", (None, "b")),
        ],
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_empty_parameter_counts_as_omitted(client, oauth_app) -> None:
    response = await token_request(client, oauth_app, grant_type="authorization_code", code="")
    assert response.json() == {
        "error": "invalid_request",
        "error_description": 'Missing "code" in request.',
    }


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        ("code=" + "x" * 5000 + "&grant_type=authorization_code", URLENCODED["Content-Type"], 400),
        ("&".join(f"f{i}=v" for i in range(40)), URLENCODED["Content-Type"], 400),
        (b"code=%FF%FE&grant_type=authorization_code", URLENCODED["Content-Type"], 400),
        (b"code=\xff\xfe", URLENCODED["Content-Type"], 400),
        ("--x\r\nbroken", "multipart/form-data; boundary=x", 400),
        ("grant_type=authorization_code", "multipart/form-data", 400),
        ("grant_type=authorization_code", "text/plain", 400),
        ("a" * 70_000, URLENCODED["Content-Type"], 413),
    ],
    ids=[
        "long field",
        "too many fields",
        "bad percent-encoding",
        "not utf-8",
        "broken multipart",
        "no boundary",
        "text/plain",
        "oversized body",
    ],
)
async def test_bad_bodies_are_4xx_json(client, content, content_type, status) -> None:
    response = await client.post(
        "/api/oauth/token", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    if status == 400:
        assert response.json()["error"] == "invalid_request"


async def test_multipart_file_upload_is_refused(client, oauth_app) -> None:
    response = await client.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code"},
        files={"code": ("code.txt", b"abc", "text/plain")},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_issued_scope_is_always_in_the_response(client, alice, oauth_app) -> None:
    tokens = await issue_tokens(client, alice, oauth_app, scope=None)
    assert tokens["scope"] == "profile:read workouts:read"
