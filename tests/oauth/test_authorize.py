"""The authorization endpoint's decisions, called directly (no HTTP)."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app import clock
from app.oauth.authorize import AuthorizationRequest, with_query
from app.oauth.errors import AccessDenied, InvalidRequest, InvalidScope, UnsupportedResponseType
from app.oauth.memory_store import StoredCode
from app.oauth.secrets import hash_secret
from tests.helpers import pkce_pair
from tests.oauth.conftest import REDIRECT_URIS, World


def request_for(world: World, **fields: object) -> AuthorizationRequest:
    values: dict[str, object] = {
        "client_id": world.client.client_id,
        "response_type": "code",
        "confirm": True,
        "state": "st4te",
        **fields,
    }
    return AuthorizationRequest(**values)  # type: ignore[arg-type]


async def stored_codes(world: World) -> list[StoredCode]:
    return sorted(world.store.tables.codes.values(), key=lambda code: code.id)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def test_issues_a_hashed_code_for_the_first_redirect_uri(world: World) -> None:
    before = clock.utcnow()
    url = await world.server.authorization.authorize(world.user_id, request_for(world))

    assert url.startswith(REDIRECT_URIS[0] + "?")
    query = query_of(url)
    assert query["state"] == ["st4te"]
    code = query["code"][0]
    assert len(code) == 48 and code.isalnum()
    [row] = await stored_codes(world)
    assert row.code_hash == hash_secret(code)
    assert code not in vars(row).values()
    assert row.client_pk == world.client.pk
    assert row.user_id == world.user_id
    assert row.scope == "profile:read workouts:read"
    assert row.redirect_uri is None
    assert row.used_at is None
    lifetime = row.expires_at - row.created_at
    assert lifetime == timedelta(seconds=world.settings.code_lifetime) == timedelta(seconds=300)
    assert row.created_at >= before


async def test_registered_redirect_uri_keeps_its_query(world: World) -> None:
    url = await world.server.authorization.authorize(
        world.user_id, request_for(world, redirect_uri=REDIRECT_URIS[1], state=None)
    )
    assert url.startswith("https://example.com/cb2?keep=1&code=")
    assert "state" not in query_of(url)
    [row] = await stored_codes(world)
    assert row.redirect_uri == REDIRECT_URIS[1]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/cb",
        "https://example.com/cb/extra",
        "https://example.com/cb?a=1",
        "https://example.com/CB",
        "https://example.com/cb2",
    ],
)
async def test_redirect_uri_must_match_exactly(world: World, redirect_uri: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape('Invalid "redirect_uri" in request.')):
        await world.server.authorization.authorize(
            world.user_id, request_for(world, redirect_uri=redirect_uri)
        )
    assert await stored_codes(world) == []


@pytest.mark.parametrize("client_id", ["nope", "x" * 500, "bad\x00id"])
async def test_unknown_client_is_invalid_request(world: World, client_id: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape('Invalid "client_id" in request.')):
        await world.server.authorization.authorize(
            world.user_id, request_for(world, client_id=client_id)
        )


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        (None, "profile:read workouts:read"),
        ("", "profile:read workouts:read"),
        ("workouts:read profile:read", "profile:read workouts:read"),
        ("profile:read", "profile:read"),
        ("profile:read profile:write", "profile:read"),
        ("profile:read admin:all", "profile:read"),
    ],
)
async def test_scope_is_narrowed_to_the_clients(
    world: World, requested: str | None, granted: str
) -> None:
    await world.server.authorization.authorize(world.user_id, request_for(world, scope=requested))
    [row] = await stored_codes(world)
    assert row.scope == granted


@pytest.mark.parametrize("requested", ["workouts:write", "admin:all", "profile:write users:read"])
async def test_scope_wholly_outside_is_invalid_scope(world: World, requested: str) -> None:
    with pytest.raises(InvalidScope):
        await world.server.authorization.authorize(
            world.user_id, request_for(world, scope=requested)
        )
    assert await stored_codes(world) == []


async def test_refused_consent_is_access_denied_and_stores_nothing(world: World) -> None:
    with pytest.raises(AccessDenied) as caught:
        await world.server.authorization.authorize(world.user_id, request_for(world, confirm=False))
    assert (
        caught.value.description == "The resource owner or authorization server denied the request"
    )
    assert await stored_codes(world) == []


async def test_only_response_type_code(world: World) -> None:
    with pytest.raises(UnsupportedResponseType):
        await world.server.authorization.authorize(
            world.user_id, request_for(world, response_type="token")
        )


async def test_pkce_challenge_is_stored(world: World) -> None:
    _, challenge = pkce_pair()
    await world.server.authorization.authorize(
        world.user_id,
        request_for(world, code_challenge=challenge, code_challenge_method="S256"),
    )
    [row] = await stored_codes(world)
    assert (row.code_challenge, row.code_challenge_method) == (challenge, "S256")


async def test_pkce_required_by_setting(world: World) -> None:
    server = world.server_with(oauth2_require_pkce=True)
    with pytest.raises(InvalidRequest, match=re.escape('Missing "code_challenge"')):
        await server.authorization.authorize(world.user_id, request_for(world))
    _, challenge = pkce_pair()
    await server.authorization.authorize(
        world.user_id, request_for(world, code_challenge=challenge, code_challenge_method="S256")
    )
    assert len(await stored_codes(world)) == 1


async def test_plain_pkce_only_when_the_setting_allows_it(world: World) -> None:
    plain = request_for(world, code_challenge="p" * 43, code_challenge_method="plain")
    with pytest.raises(InvalidRequest, match=re.escape('Unsupported "code_challenge_method"')):
        await world.server.authorization.authorize(world.user_id, plain)
    await world.server_with(oauth2_allow_plain_pkce=True).authorization.authorize(
        world.user_id, plain
    )
    [row] = await stored_codes(world)
    assert row.code_challenge_method == "plain"


async def test_code_lifetime_is_a_setting(world: World) -> None:
    server = world.server_with(code_lifetime=60)
    await server.authorization.authorize(world.user_id, request_for(world))
    [row] = await stored_codes(world)
    assert row.expires_at - row.created_at == timedelta(seconds=60)


def test_with_query_encodes_and_appends() -> None:
    assert with_query("https://a.example/cb", code="c", state="a b&c") == (
        "https://a.example/cb?code=c&state=a+b%26c"
    )
    assert with_query("com.example.app:/cb?x=1", code="c", state=None) == (
        "com.example.app:/cb?x=1&code=c"
    )


async def test_a_client_deleted_before_its_code_is_stored_gets_no_code(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refuses a code for a client that is gone (`CodeStore.create` is False):
    the unknown-client refusal, never a code."""
    codes = world.store.codes
    original = codes.create

    async def delete_the_client_first(**fields: object) -> bool:
        world.store.delete_client(world.client.pk)
        return await original(**fields)  # type: ignore[arg-type]

    monkeypatch.setattr(codes, "create", delete_the_client_first)
    with pytest.raises(InvalidRequest, match=re.escape('Invalid "client_id" in request.')):
        await world.server.authorization.authorize(world.user_id, request_for(world))
    assert await stored_codes(world) == []
