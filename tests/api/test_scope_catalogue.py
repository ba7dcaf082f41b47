"""The scope catalogue `FITTRACKEE_API_VERSION` selects (issue 11): FitTrackee 1.3's 17 scopes
by default, each registered, authorized, in the token response and in introspection; the 0.7
set behaving as the seed; and the catalogue in discovery, the consent page and the docs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.config import ConfigurationError, Settings
from app.oauth.scopes import FITTRACKEE_SCOPES, ScopeCatalogue, parse_version
from app.pages.scope_words import SCOPE_WORDS
from tests.databases import ROOT
from tests.helpers import (
    authorize,
    bearer,
    create_app,
    introspect_request,
    issue_tokens,
    refresh_tokens,
    user_token,
)

FULL = [scope for scope, _ in FITTRACKEE_SCOPES]
SEED = [
    "application:write",
    "profile:read",
    "profile:write",
    "users:read",
    "users:write",
    "workouts:read",
    "workouts:write",
]
# garmin-to-fittrackee 0.12.0's scope string, in its own order.
GARMIN_SCOPE = (
    "equipments:read equipments:write media:write profile:read profile:write "
    "workouts:read workouts:write"
)
WELL_KNOWN = "/.well-known/oauth-authorization-server"


# --- the catalogue, without HTTP -------------------------------------------------------------


def test_the_full_catalogue_is_fittrackee_13s_seventeen_scopes():
    catalogue = ScopeCatalogue.for_version((1, 3, 6))
    assert catalogue.scopes == tuple(FULL)
    assert len(catalogue.scopes) == 17 == len(catalogue.known)
    assert catalogue.scopes[:7] == tuple(SEED)


@pytest.mark.parametrize(
    ("version", "added"),
    [
        ("0.7.17", []),
        ("0.7.29", []),
        ("0.8.0", ["equipments:read", "equipments:write"]),
        ("0.9.3", FULL[7:15]),
        ("1.2.9", FULL[7:16]),
        ("1.3.0", FULL[7:]),
        ("2.0.0", FULL[7:]),
    ],
)
def test_each_version_offers_the_scopes_added_at_or_before_it(version, added):
    catalogue = ScopeCatalogue.for_version(parse_version(version))
    assert list(catalogue.scopes) == SEED + added


def test_known_in_drops_unknown_scopes_and_format_is_canonical():
    seed = ScopeCatalogue.for_version((0, 7, 17))
    assert seed.known_in(GARMIN_SCOPE + " bogus") == [
        "profile:read",
        "profile:write",
        "workouts:read",
        "workouts:write",
    ]
    full = ScopeCatalogue.for_version((1, 3, 6))
    assert full.format(GARMIN_SCOPE.split()) == (
        "profile:read profile:write workouts:read workouts:write "
        "equipments:read equipments:write media:write"
    )


@pytest.mark.parametrize("value", ["1.3", "v1.3.6", "1.3.6b1", "one", "0.6.9", "0.0.1"])
def test_an_unusable_version_is_refused_at_start_up_in_one_line(monkeypatch, value):
    monkeypatch.setenv("FITTRACKEE_API_VERSION", value)
    with pytest.raises(ConfigurationError) as refused:
        Settings()
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"FITTRACKEE_API_VERSION={value!r}: ")
    assert "0.7.0" in message


def test_the_version_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv("FITTRACKEE_API_VERSION", raising=False)
    assert Settings().fittrackee_api_version == "1.3.6"
    monkeypatch.setenv("FITTRACKEE_API_VERSION", " 0.7.17 ")
    settings = Settings()
    assert settings.fittrackee_api_version == "0.7.17"
    assert settings.fittrackee_version == (0, 7, 17)


def test_every_scope_of_the_full_catalogue_has_plain_words():
    for scope in ScopeCatalogue.for_version((1, 3, 6)).scopes:
        assert SCOPE_WORDS.get(scope), scope


# --- the full catalogue over HTTP -------------------------------------------------------------


async def test_every_scope_is_registered_authorized_issued_refreshed_and_introspected(
    client, alice
):
    everything = " ".join(reversed(FULL))  # any order in, canonical order out
    oauth_app = await create_app(client, alice, scope=everything)
    assert oauth_app["scope"] == " ".join(FULL)

    tokens = await issue_tokens(client, alice, oauth_app, scope=everything)
    assert tokens["scope"] == " ".join(FULL)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        answer = (await introspect_request(client, oauth_app, token=token)).json()
        assert answer["active"] is True
        assert answer["scope"] == " ".join(FULL)

    refreshed = await refresh_tokens(client, oauth_app, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["scope"] == " ".join(FULL)
    narrower = await refresh_tokens(
        client, oauth_app, refreshed.json()["refresh_token"], scope="media:write profile:read"
    )
    assert narrower.json()["scope"] == "profile:read media:write"
    answer = await introspect_request(client, oauth_app, token=narrower.json()["access_token"])
    assert answer.json()["scope"] == "profile:read media:write"


@pytest.mark.parametrize("scope", FULL)
async def test_each_scope_alone_is_registered_and_granted(client, alice, scope):
    oauth_app = await create_app(client, alice, scope=scope)
    assert oauth_app["scope"] == scope
    tokens = await issue_tokens(client, alice, oauth_app, scope=scope)
    assert tokens["scope"] == scope
    answer = await introspect_request(client, oauth_app, token=tokens["access_token"])
    assert answer.json()["scope"] == scope


async def test_a_scope_that_opens_nothing_here_opens_nothing(client, alice):
    """`media:write` is granted, but no endpoint here takes it: the profile needs its own."""
    oauth_app = await create_app(client, alice, scope="media:write equipments:read")
    tokens = await issue_tokens(client, alice, oauth_app)
    assert tokens["scope"] == "equipments:read media:write"
    profile = await client.get("/api/auth/profile", headers=bearer(tokens["access_token"]))
    assert profile.status_code == 403
    assert profile.json()["error"] == "insufficient_scope"


async def test_a_1x_client_gets_every_scope_it_asked_for(client, alice):
    oauth_app = await create_app(client, alice, scope=GARMIN_SCOPE)
    tokens = await issue_tokens(client, alice, oauth_app, scope=GARMIN_SCOPE)
    assert set(tokens["scope"].split()) == set(GARMIN_SCOPE.split())


async def test_discovery_and_the_docs_list_the_full_catalogue_with_words(client):
    assert (await client.get(WELL_KNOWN)).json()["scopes_supported"] == FULL
    document = (await client.get("/openapi.json")).json()
    flow = document["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == "/profile/apps/authorize"
    assert flow["tokenUrl"] == flow["refreshUrl"] == "/api/oauth/token"
    assert flow["scopes"] == {scope: SCOPE_WORDS[scope] for scope in FULL}
    assert list(flow["scopes"]) == FULL


async def test_the_consent_page_words_1x_scopes(client, alice):
    oauth_app = await create_app(client, alice, scope=GARMIN_SCOPE)
    page = await client.get(
        "/profile/apps/authorize",
        params={"client_id": oauth_app["client_id"], "response_type": "code"},
    )
    assert page.status_code == 200
    for scope in GARMIN_SCOPE.split():
        assert SCOPE_WORDS[scope] in page.text


# --- FITTRACKEE_API_VERSION=0.7.17: the seed's behaviour --------------------------------------


async def test_the_07_setting_registers_as_the_seed_did(server_with):
    async with server_with(fittrackee_api_version="0.7.17") as http:
        token = await user_token(http)
        oauth_app = await create_app(http, token, scope=GARMIN_SCOPE)
        assert oauth_app["scope"] == "profile:read profile:write workouts:read workouts:write"
        refused = await http.post(
            "/api/oauth/apps",
            headers=bearer(token),
            json={
                "client_name": "1.x only",
                "client_uri": "https://example.com",
                "redirect_uris": ["https://example.com/cb"],
                "scope": "equipments:read media:write geocode:read",
            },
        )
        assert refused.status_code == 400
        assert refused.json() == {"message": "OAuth2 client invalid scopes", "status": "error"}
        tokens = await issue_tokens(http, token, oauth_app, scope=GARMIN_SCOPE)
        assert tokens["scope"] == "profile:read profile:write workouts:read workouts:write"
        assert (await http.get(WELL_KNOWN)).json()["scopes_supported"] == SEED
        document = (await http.get("/openapi.json")).json()
        flow = document["components"]["securitySchemes"]["oauth2"]["flows"]
        assert list(flow["authorizationCode"]["scopes"]) == SEED


async def test_1x_scopes_registered_earlier_are_not_granted_under_07(client, alice, server_with):
    """An operator going back to 0.7.17: apps keep their stored scopes, but only the 0.7
    ones are granted, and an app left with none gets `invalid_scope`, never an empty grant."""
    mixed = await create_app(client, alice, scope=GARMIN_SCOPE)
    only_1x = await create_app(client, alice, scope="media:write")
    async with server_with(fittrackee_api_version="0.7.17") as http:
        tokens = await issue_tokens(http, alice, mixed)
        assert tokens["scope"] == "profile:read profile:write workouts:read workouts:write"
        refused = await authorize(http, alice, only_1x)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("command", "status"),
    [(["alembic", "upgrade", "head"], 1), (["uvicorn", "app.asgi:app", "--port", "0"], 3)],
    ids=["migrate", "serve"],
)
def test_the_server_and_its_migrations_refuse_to_start_with_one_line(tmp_path, command, status):
    """`make run` and the Docker image run both: each stops at once with the reason."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/never.db",
        "FITTRACKEE_API_VERSION": "0.6.9",
    }
    done = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == status  # uvicorn's start-up failure status for the server
    assert done.stderr.splitlines() == [
        "fittrackee-oauth2: FITTRACKEE_API_VERSION='0.6.9': "
        "a FitTrackee version from 0.7.0 on is required, such as 1.3.6"
    ]
    assert not (tmp_path / "never.db").exists()
