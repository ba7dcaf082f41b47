"""POST /api/oauth/authorize over HTTP (issue 4 §1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from app.config import Settings
from app.main import create_app as create_asgi_app
from tests.helpers import (
    REDIRECT_URI,
    authorize,
    bearer,
    code_from,
    exchange_code,
    issue_tokens,
    pkce_pair,
    user_token,
)

DENIED = "The resource owner or authorization server denied the request"


def assert_refusal(response: httpx.Response, error: str, message: str) -> None:
    """/authorize errors: FitTrackee's shape plus the RFC 6749 code, never a redirect URL."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert "redirect_url" not in body
    assert body == {
        "status": "error",
        "message": message,
        "error": error,
        **({"error_description": message} if message != error else {}),
    }


async def test_multipart_approval(client, alice, oauth_app) -> None:
    fields = {
        "client_id": oauth_app["client_id"],
        "response_type": "code",
        "scope": "profile:read",
        "confirm": "true",
        "state": "st4te",
    }
    response = await client.post(
        "/api/oauth/authorize",
        files={key: (None, value) for key, value in fields.items()},
        headers=bearer(alice),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"redirect_url", "status"} and body["status"] == "success"
    url = urlsplit(body["redirect_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == REDIRECT_URI
    query = parse_qs(url.query)
    assert query["state"] == ["st4te"]
    assert len(query["code"][0]) == 48


async def test_urlencoded_approval_with_second_redirect_uri(client, alice, oauth_app) -> None:
    response = await authorize(client, alice, oauth_app, redirect_uri="https://example.com/cb2")
    assert response.status_code == 200
    assert response.json()["redirect_url"].startswith("https://example.com/cb2?code=")


async def test_state_is_optional(client, alice, oauth_app) -> None:
    response = await authorize(client, alice, oauth_app, state=None)
    assert "state=" not in response.json()["redirect_url"]


async def test_json_body_is_invalid_payload(client, alice, oauth_app) -> None:
    response = await client.post(
        "/api/oauth/authorize",
        json={"client_id": oauth_app["client_id"], "response_type": "code", "confirm": "true"},
        headers=bearer(alice),
    )
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "invalid payload"}


@pytest.mark.parametrize("missing", ["client_id", "response_type"])
async def test_missing_required_field_is_invalid_payload(client, alice, oauth_app, missing) -> None:
    response = await authorize(client, alice, oauth_app, **{missing: None})
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "invalid payload"}


async def test_parameter_sent_twice_is_invalid_payload(client, alice, oauth_app) -> None:
    body = (
        f"client_id={oauth_app['client_id']}&response_type=code&confirm=true"
        "&scope=profile:read&scope=workouts:read"
    )
    response = await client.post(
        "/api/oauth/authorize",
        content=body,
        headers={**bearer(alice), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "invalid payload"}


async def test_oversized_field_and_body(client, alice, oauth_app) -> None:
    response = await authorize(client, alice, oauth_app, state="s" * 5000)
    assert response.status_code == 400
    assert response.json()["message"] == "invalid payload"
    response = await authorize(client, alice, oauth_app, state="s" * 70_000)
    assert response.status_code == 413
    assert response.json()["status"] == "error"


async def test_needs_the_users_token(client, alice, oauth_app) -> None:
    response = await client.post(
        "/api/oauth/authorize",
        data={"client_id": oauth_app["client_id"], "response_type": "code", "confirm": "true"},
    )
    assert response.status_code == 401
    assert response.json() == {"status": "error", "message": "provide a valid auth token"}
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_oauth2_access_token_is_refused(client, alice, oauth_app) -> None:
    tokens = await issue_tokens(client, alice, oauth_app)
    response = await authorize(client, tokens["access_token"], oauth_app)
    assert response.status_code == 401


async def test_any_user_may_authorize_any_client(client, alice, oauth_app) -> None:
    bob = await user_token(client, "bob")
    response = await authorize(client, bob, oauth_app)
    assert response.status_code == 200


@pytest.mark.parametrize("client_id", ["nope", "x" * 1000])
async def test_unknown_client_is_a_json_error(client, alice, oauth_app, client_id) -> None:
    response = await authorize(client, alice, oauth_app, client_id=client_id)
    assert_refusal(response, "invalid_request", 'Invalid "client_id" in request.')


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://evil.example/cb",
        "https://example.com/cb/extra",
        "https://example.com/cb?a=1",
        "https://example.com/cb/",
        "https://EXAMPLE.com/cb",
    ],
)
async def test_unregistered_redirect_uri_is_a_json_error(
    client, alice, oauth_app, redirect_uri
) -> None:
    response = await authorize(client, alice, oauth_app, redirect_uri=redirect_uri)
    assert_refusal(response, "invalid_request", 'Invalid "redirect_uri" in request.')


async def test_response_type_token_is_unsupported(client, alice, oauth_app) -> None:
    response = await authorize(client, alice, oauth_app, response_type="token")
    assert_refusal(response, "unsupported_response_type", 'Unsupported "response_type"')


@pytest.mark.parametrize("confirm", ["false", None, "yes", "1"])
async def test_consent_must_be_true(client, alice, oauth_app, confirm) -> None:
    response = await authorize(client, alice, oauth_app, confirm=confirm)
    assert_refusal(response, "access_denied", DENIED)


@pytest.mark.parametrize("prompt", ["none", "consent", "none consent"])
async def test_prompt_is_the_consent_pages_and_ignored_here(client, alice, oauth_app, prompt):
    """The JSON endpoint is FitTrackee's: `confirm=true` approves, whatever `prompt` says,
    and `confirm` is still needed."""
    response = await authorize(client, alice, oauth_app, prompt=prompt)
    assert response.status_code == 200, response.text
    assert "code=" in response.json()["redirect_url"]
    refused = await authorize(client, alice, oauth_app, prompt=prompt, confirm=None)
    assert_refusal(refused, "access_denied", DENIED)


async def test_confirm_is_case_insensitive(client, alice, oauth_app) -> None:
    response = await authorize(client, alice, oauth_app, confirm="TRUE")
    assert response.status_code == 200


@pytest.mark.parametrize("scope", ["workouts:write", "admin:all", "users:read users:write"])
async def test_scope_wholly_outside_the_clients_is_invalid_scope(
    client, alice, oauth_app, scope
) -> None:
    response = await authorize(client, alice, oauth_app, scope=scope)
    assert_refusal(
        response, "invalid_scope", "The requested scope is invalid, unknown, or malformed."
    )


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        ("profile:read profile:write", "profile:read"),
        ("profile:read admin:all", "profile:read"),
        (None, "profile:read workouts:read"),
        ("workouts:read", "workouts:read"),
    ],
)
async def test_partly_outside_scope_is_narrowed(
    client, alice, oauth_app, requested, granted
) -> None:
    tokens = await issue_tokens(client, alice, oauth_app, scope=requested)
    assert tokens["scope"] == granted


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code_challenge_method": "S256"}, 'Missing "code_challenge"'),
        ({"code_challenge": pkce_pair()[1]}, 'Missing "code_challenge_method"'),
        (
            {"code_challenge": pkce_pair()[1], "code_challenge_method": "S512"},
            'Unsupported "code_challenge_method"',
        ),
        (
            {"code_challenge": "p" * 64, "code_challenge_method": "plain"},
            'Unsupported "code_challenge_method"',
        ),
        (
            {"code_challenge": "abcdefghij", "code_challenge_method": "S256"},
            'Invalid "code_challenge"',
        ),
        (
            {"code_challenge": "a" * 129, "code_challenge_method": "S256"},
            'Invalid "code_challenge"',
        ),
        (
            {"code_challenge": "a" * 42 + "+", "code_challenge_method": "S256"},
            'Invalid "code_challenge"',
        ),
    ],
)
async def test_pkce_parameters_are_checked(client, alice, oauth_app, fields, message) -> None:
    response = await authorize(client, alice, oauth_app, **fields)
    assert_refusal(response, "invalid_request", message)


async def test_pkce_is_optional_by_default(client, alice, oauth_app) -> None:
    code = code_from(await authorize(client, alice, oauth_app))
    response = await exchange_code(client, oauth_app, code)
    assert response.status_code == 200, response.text


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with OAUTH2_REQUIRE_PKCE=true and OAUTH2_ALLOW_PLAIN_PKCE=true."""
    application: FastAPI = create_asgi_app(
        settings.model_copy(update={"oauth2_require_pkce": True, "oauth2_allow_plain_pkce": True})
    )
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await application.state.services.db.dispose()


async def test_pkce_required_by_setting(client, strict_client, alice, oauth_app) -> None:
    response = await authorize(strict_client, alice, oauth_app)
    assert_refusal(response, "invalid_request", 'Missing "code_challenge"')

    verifier = "v" * 64
    response = await authorize(
        strict_client, alice, oauth_app, code_challenge=verifier, code_challenge_method="plain"
    )
    exchanged = await exchange_code(
        strict_client, oauth_app, code_from(response), code_verifier=verifier
    )
    assert exchanged.status_code == 200, exchanged.text


async def test_code_lives_300_seconds(client, alice, oauth_app) -> None:
    late = code_from(await authorize(client, alice, oauth_app))
    clock.advance(299)
    on_time = code_from(await authorize(client, alice, oauth_app))
    assert (await exchange_code(client, oauth_app, on_time)).status_code == 200
    clock.advance(2)
    response = await exchange_code(client, oauth_app, late)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": 'Invalid "code" in request.',
    }
