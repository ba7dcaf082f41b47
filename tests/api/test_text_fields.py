"""Text fields of the JSON bodies refuse control and format characters with a 400 in the
endpoint's shape (issue 10): NUL made PostgreSQL answer 500, bidi overrides and zero-width
characters made an app's name on the consent page read as another's."""

from __future__ import annotations

import httpx
import pytest

from app.accounts.service import registration_problems
from app.plain_text import refused_character
from tests.helpers import PASSWORD, app_payload, bearer, register

INVALID_PAYLOAD = {"status": "error", "message": "invalid payload"}
REFUSED = ["\x00", "\x1b", "\x7f", "\u202e", "\u200b", "\u2066", "\u2028", "\u2029", "\ufeff"]


@pytest.mark.parametrize("character", REFUSED)
def test_the_rule_refuses_controls_format_characters_and_separators(character: str):
    assert refused_character(f"ab{character}c") == character
    assert refused_character(f"ab{character}c", multiline=True) == character


def test_the_rule_keeps_ordinary_text_and_newlines_where_allowed():
    for text in ("Zoë Łukasz 山田", "naïve café", "a\u00a0b", "emoji 🏃", ""):
        assert refused_character(text) is None
    assert refused_character("two\nlines\r\nand\ta tab", multiline=True) is None
    assert refused_character("two\nlines") == "\n"


async def test_a_nul_in_the_login_email_is_a_400(client: httpx.AsyncClient):
    await register(client, "alice")
    response = await client.post(
        "/api/auth/login", json={"email": "alice@example.com\u0000", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert response.json() == INVALID_PAYLOAD


@pytest.mark.parametrize("field", ["bio", "location", "first_name", "last_name"])
async def test_a_nul_in_a_profile_field_is_a_400_and_changes_nothing(
    client: httpx.AsyncClient, alice: str, field: str
):
    headers = bearer(alice)
    saved = await client.post("/api/auth/profile/edit", json={field: "kept"}, headers=headers)
    assert saved.status_code == 200
    response = await client.post(
        "/api/auth/profile/edit", json={field: "new\u0000value"}, headers=headers
    )
    assert response.status_code == 400
    assert response.json() == INVALID_PAYLOAD
    profile = (await client.get("/api/auth/profile", headers=headers)).json()["data"]
    assert profile[field] == "kept"


async def test_a_bio_keeps_its_newlines_but_not_a_bidi_override(
    client: httpx.AsyncClient, alice: str
):
    headers = bearer(alice)
    kept = await client.post(
        "/api/auth/profile/edit", json={"bio": "runner\ncyclist"}, headers=headers
    )
    assert kept.status_code == 200
    assert kept.json()["data"]["bio"] == "runner\ncyclist"
    refused = await client.post(
        "/api/auth/profile/edit", json={"location": "Paris\nLyon"}, headers=headers
    )
    assert refused.status_code == 400
    refused = await client.post(
        "/api/auth/profile/edit", json={"bio": "\u202eevil"}, headers=headers
    )
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "bob\u0000"),
        ("username", "bob\n"),
        ("email", "bob@example.com\u0000"),
        ("email", "bob@exa\u200bmple.com"),
    ],
)
async def test_registration_refuses_such_characters(client: httpx.AsyncClient, field, value):
    body = {
        "username": "bob",
        "email": "bob@example.com",
        "password": PASSWORD,
        "accepted_policy": True,
        field: value,
    }
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    login = await client.post(
        "/api/auth/login", json={"email": "bob@example.com", "password": PASSWORD}
    )
    assert login.status_code == 401  # nothing was created


def test_a_username_with_a_trailing_newline_breaks_the_username_rule():
    """`re.match` with `$` let "alice\\n" through (the command line's create-user too)."""
    problems = registration_problems("alice\n", "alice@example.com", PASSWORD)
    assert 'only alphanumeric characters and the underscore character "_" allowed' in problems
    assert "email" in registration_problems("alice", "alice@example.com\n", PASSWORD)
    assert registration_problems("alice", "alice@example.com", PASSWORD) == ""


@pytest.mark.parametrize("character", ["\u202e", "\u200b", "\u2066", "\x00", "\u2028"])
async def test_app_names_refuse_bidi_zero_width_and_control_characters(
    client: httpx.AsyncClient, alice: str, character: str
):
    response = await client.post(
        "/api/oauth/apps",
        json=app_payload(client_name=f"Strava{character}Evil"),
        headers=bearer(alice),
    )
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "message": "OAuth2 client invalid client_name: control or format characters are not "
        "allowed",
    }


async def test_app_descriptions_keep_newlines_but_refuse_separators(
    client: httpx.AsyncClient, alice: str
):
    kept = await client.post(
        "/api/oauth/apps",
        json=app_payload(client_description="line one\r\nline two\ttabbed"),
        headers=bearer(alice),
    )
    assert kept.status_code == 201
    refused = await client.post(
        "/api/oauth/apps",
        json=app_payload(client_description="one\u2029two"),
        headers=bearer(alice),
    )
    assert refused.status_code == 400
    assert "client_description" in refused.json()["message"]
