"""Remembered consent and `prompt` (OpenID Connect Core §3.1.2.1), decided by the engine on
the in-memory store: what the consent page does before the user says anything
(`interact`), and what its approval remembers (`authorize(..., remember=True)`)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.oauth.authorize import AskConsent, AuthorizationRequest, SendBack
from app.oauth.errors import InvalidRequest, InvalidScope
from app.oauth.memory_store import StoredCode
from app.oauth.secrets import hash_secret
from tests.oauth.conftest import REDIRECT_URIS, World, add_client

ISSUER = "https://oauth.example.com"


def request_for(world: World, **fields: object) -> AuthorizationRequest:
    values: dict[str, object] = {
        "client_id": world.client.client_id,
        "response_type": "code",
        "confirm": True,
        "state": "st4te",
        **fields,
    }
    return AuthorizationRequest(**values)  # type: ignore[arg-type]


def codes(world: World) -> list[StoredCode]:
    return sorted(world.store.tables.codes.values(), key=lambda code: code.id)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def approve_on_the_page(world: World, scope: str | None = None) -> str:
    return await world.server.authorization.authorize(
        world.user_id, request_for(world, scope=scope), issuer=ISSUER, remember=True
    )


async def interact(world: World, user_id: int | None, **fields: object) -> AskConsent | SendBack:
    return await world.server.authorization.interact(
        user_id, request_for(world, confirm=False, **fields), issuer=ISSUER
    )


# --- remembering ------------------------------------------------------------------------------


async def test_the_pages_approval_is_remembered_and_the_json_endpoints_is_not(world: World):
    await world.server.authorization.authorize(world.user_id, request_for(world), issuer=ISSUER)
    assert world.store.tables.consents == {}
    await approve_on_the_page(world, "profile:read")
    [(key, consent)] = world.store.tables.consents.items()
    assert key == (world.user_id, world.client.pk)
    assert consent.scope == "profile:read"
    assert len(codes(world)) == 2  # the approval issued its code too


async def test_a_second_approval_adds_to_the_first(world: World):
    await approve_on_the_page(world, "workouts:read")
    await approve_on_the_page(world, "profile:read")
    [consent] = world.store.tables.consents.values()
    assert consent.scope == "profile:read workouts:read"


# --- prompt absent ----------------------------------------------------------------------------


async def test_without_a_remembered_consent_the_page_asks(world: World):
    outcome = await interact(world, world.user_id)
    assert isinstance(outcome, AskConsent)
    assert outcome.remembered == frozenset()
    assert outcome.reviewed.scope == "profile:read workouts:read"
    assert codes(world) == []


async def test_a_request_within_the_remembered_consent_gets_a_code_at_once(world: World):
    await approve_on_the_page(world)  # everything the app may have
    before = len(codes(world))
    for scope in (None, "profile:read", "workouts:read profile:read"):
        outcome = await interact(world, world.user_id, scope=scope)
        assert isinstance(outcome, SendBack), scope
        assert outcome.url.startswith(REDIRECT_URIS[0] + "?")
        query = query_of(outcome.url)
        assert query["state"] == ["st4te"] and query["iss"] == [ISSUER]
        newest = codes(world)[-1]
        assert newest.code_hash == hash_secret(query["code"][0])
        assert newest.user_id == world.user_id and newest.client_pk == world.client.pk
    assert len(codes(world)) == before + 3
    assert [code.scope for code in codes(world)[-3:]] == [
        "profile:read workouts:read",
        "profile:read",
        "profile:read workouts:read",
    ]


async def test_the_code_is_issued_with_the_requests_pkce_and_redirect_uri(world: World):
    await approve_on_the_page(world)
    outcome = await interact(
        world,
        world.user_id,
        redirect_uri=REDIRECT_URIS[1],
        code_challenge="c" * 43,
        code_challenge_method="S256",
    )
    assert isinstance(outcome, SendBack)
    assert outcome.url.startswith("https://example.com/cb2?keep=1&code=")
    newest = codes(world)[-1]
    assert (newest.redirect_uri, newest.code_challenge) == (REDIRECT_URIS[1], "c" * 43)


async def test_a_wider_request_asks_again_and_says_what_is_new(world: World):
    await approve_on_the_page(world, "profile:read")
    before = len(codes(world))
    outcome = await interact(world, world.user_id)
    assert isinstance(outcome, AskConsent)
    assert outcome.remembered == {"profile:read"}
    assert outcome.new_scopes == {"workouts:read"}
    assert len(codes(world)) == before


async def test_consent_is_per_user_and_per_app(world: World):
    await approve_on_the_page(world)
    bob = world.store.add_user("bob", now=world.store.tables.users[world.user_id].created_at)
    assert isinstance(await interact(world, bob.id), AskConsent)
    other = request_for(world, client_id=world.other_client.client_id, confirm=False)
    outcome = await world.server.authorization.interact(world.user_id, other, issuer=ISSUER)
    assert isinstance(outcome, AskConsent)


async def test_no_one_logged_in_is_asked_to_log_in(world: World):
    await approve_on_the_page(world)
    outcome = await interact(world, None)
    assert isinstance(outcome, AskConsent) and outcome.remembered == frozenset()


# --- prompt=consent, prompt=none --------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["consent", "login", "select_account", "login consent"])
async def test_prompts_that_ask_always_ask(world: World, prompt: str):
    await approve_on_the_page(world)
    before = len(codes(world))
    outcome = await interact(world, world.user_id, prompt=prompt)
    assert isinstance(outcome, AskConsent)
    assert outcome.new_scopes == frozenset()  # nothing new: every scope was approved before
    assert len(codes(world)) == before


async def test_an_unknown_prompt_value_is_ignored(world: World):
    await approve_on_the_page(world)
    assert isinstance(await interact(world, world.user_id, prompt="whatever"), SendBack)


async def test_prompt_none_without_a_user_is_login_required(world: World):
    outcome = await interact(world, None, prompt="none")
    assert isinstance(outcome, SendBack)
    assert outcome.url.startswith(REDIRECT_URIS[0] + "?")
    assert query_of(outcome.url) == {
        "error": ["login_required"],
        "state": ["st4te"],
        "iss": [ISSUER],
    }


async def test_prompt_none_without_consent_is_consent_required(world: World):
    outcome = await interact(world, world.user_id, prompt="none")
    assert isinstance(outcome, SendBack)
    assert query_of(outcome.url)["error"] == ["consent_required"]
    await approve_on_the_page(world, "profile:read")
    wider = await interact(world, world.user_id, prompt="none")
    assert isinstance(wider, SendBack)
    assert query_of(wider.url)["error"] == ["consent_required"]
    assert len(codes(world)) == 1  # the approval's only


async def test_prompt_none_with_consent_gets_a_code(world: World):
    await approve_on_the_page(world)
    outcome = await interact(world, world.user_id, prompt="none", scope="profile:read")
    assert isinstance(outcome, SendBack)
    assert "code" in query_of(outcome.url)
    assert codes(world)[-1].scope == "profile:read"


async def test_prompt_none_with_another_value_is_refused(world: World):
    with pytest.raises(InvalidRequest, match="prompt=none"):
        await interact(world, world.user_id, prompt="none consent")


# --- every other check comes first, and is raised (shown), never redirected -------------------


async def test_refusals_are_raised_whatever_the_prompt(world: World):
    await approve_on_the_page(world)
    for prompt in (None, "none"):
        with pytest.raises(InvalidRequest, match="redirect_uri"):
            await interact(world, world.user_id, prompt=prompt, redirect_uri="https://evil/cb")
        with pytest.raises(InvalidRequest, match="client_id"):
            await interact(world, None, prompt=prompt, client_id="x" * 24)
        with pytest.raises(InvalidScope):
            await interact(world, world.user_id, prompt=prompt, scope="users:write")


async def test_the_request_is_narrowed_to_the_apps_scopes_before_it_is_compared(world: World):
    """A scope the app may not have is dropped (RFC 6749 §3.3) before the comparison: it is
    never granted, so it is not a reason to ask."""
    narrow = add_client(world.store, scope="profile:read")
    request = request_for(world, client_id=narrow.client_id)
    await world.server.authorization.authorize(world.user_id, request, remember=True)
    wider = request_for(
        world, client_id=narrow.client_id, confirm=False, scope="profile:read workouts:write"
    )
    outcome = await world.server.authorization.interact(world.user_id, wider)
    assert isinstance(outcome, SendBack)
    assert codes(world)[-1].scope == "profile:read"
