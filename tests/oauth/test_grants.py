"""The token endpoint's grants and the revocation endpoint, called directly (no HTTP)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app import clock
from app.oauth.authorize import AuthorizationRequest
from app.oauth.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    UnsupportedGrantType,
)
from app.oauth.memory_store import StoredCode, StoredPair
from app.oauth.resource import validate_access_token
from app.oauth.secrets import hash_secret
from app.oauth.token_pairs import IssuedTokens
from tests.helpers import pkce_pair
from tests.oauth.conftest import REDIRECT_URIS, RegisteredClient, World


async def new_code(world: World, **fields: Any) -> str:
    values: dict[str, Any] = {
        "client_id": world.client.client_id,
        "response_type": "code",
        "confirm": True,
        **fields,
    }
    url = await world.server.authorization.authorize(world.user_id, AuthorizationRequest(**values))
    return parse_qs(urlsplit(url).query)["code"][0]


async def exchange(
    world: World, code: str, client: RegisteredClient | None = None, **params: str
) -> IssuedTokens:
    client = client or world.client
    return await world.server.token.issue(
        client.post(), {"grant_type": "authorization_code", "code": code, **params}
    )


async def refresh(
    world: World, refresh_token: str, client: RegisteredClient | None = None, **params: str
) -> IssuedTokens:
    client = client or world.client
    return await world.server.token.issue(
        client.basic(), {"grant_type": "refresh_token", "refresh_token": refresh_token, **params}
    )


async def pkce_tokens(world: World) -> IssuedTokens:
    verifier, challenge = pkce_pair()
    code = await new_code(world, code_challenge=challenge, code_challenge_method="S256")
    return await exchange(world, code, code_verifier=verifier)


async def is_live(world: World, access_token: str) -> bool:
    try:
        await validate_access_token(world.store.tokens, access_token, clock.utcnow())
    except InvalidToken:
        return False
    return True


async def token_rows(world: World) -> list[StoredPair]:
    return sorted(world.store.tables.pairs.values(), key=lambda pair: pair.id)


async def code_row(world: World, code: str) -> StoredCode:
    [found] = [c for c in world.store.tables.codes.values() if c.code_hash == hash_secret(code)]
    return found


# --- authorization_code ----------------------------------------------------------------------


async def test_exchange_issues_a_stored_hashed_pair(world: World) -> None:
    code = await new_code(world, scope="profile:read")
    issued = await exchange(world, code)

    assert issued.response() == {
        "access_token": issued.access_token,
        "expires_in": 864000,
        "refresh_token": issued.refresh_token,
        "scope": "profile:read",
        "token_type": "Bearer",
    }
    assert len(issued.access_token) == 42 and issued.access_token.isalnum()
    assert len(issued.refresh_token) == 48 and issued.refresh_token.isalnum()
    [row] = await token_rows(world)
    assert row.access_token_hash == hash_secret(issued.access_token)
    assert row.refresh_token_hash == hash_secret(issued.refresh_token)
    assert row.family_id == (await code_row(world, code)).family_id
    assert row.client_pk == world.client.pk and row.user_id == world.user_id
    assert (row.access_expires_at - row.issued_at).total_seconds() == 864000
    assert (row.refresh_expires_at - row.issued_at).total_seconds() == 2 * 864000
    assert (await code_row(world, code)).used_at is not None
    assert await is_live(world, issued.access_token)


async def test_replayed_code_is_refused_and_revokes_its_tokens(world: World) -> None:
    code = await new_code(world)
    first = await exchange(world, code)
    rotated = await refresh(world, first.refresh_token)

    with pytest.raises(InvalidGrant, match=re.escape('Invalid "code" in request.')):
        await exchange(world, code)

    assert not await is_live(world, rotated.access_token)
    with pytest.raises(InvalidGrant):
        await refresh(world, rotated.refresh_token)
    assert all(row.revoked_at is not None for row in await token_rows(world))


async def test_replay_does_not_touch_other_codes_tokens(world: World) -> None:
    code = await new_code(world)
    await exchange(world, code)
    other = await exchange(world, await new_code(world))
    with pytest.raises(InvalidGrant):
        await exchange(world, code)
    assert await is_live(world, other.access_token)


async def test_unknown_code(world: World) -> None:
    with pytest.raises(InvalidGrant, match=re.escape('Invalid "code" in request.')):
        await exchange(world, "nope")


async def test_missing_code(world: World) -> None:
    with pytest.raises(InvalidRequest, match=re.escape('Missing "code" in request.')):
        await world.server.token.issue(world.client.post(), {"grant_type": "authorization_code"})


async def test_code_of_another_client_is_refused_and_spent(world: World) -> None:
    code = await new_code(world)
    with pytest.raises(InvalidGrant, match=re.escape('Invalid "code" in request.')):
        await exchange(world, code, client=world.other_client)
    with pytest.raises(InvalidGrant):
        await exchange(world, code)
    assert await token_rows(world) == []


async def test_expired_code(world: World) -> None:
    code = await new_code(world)
    clock.advance(world.settings.code_lifetime + 1)
    with pytest.raises(InvalidGrant, match=re.escape('Invalid "code" in request.')):
        await exchange(world, code)


async def test_code_just_before_expiry(world: World) -> None:
    code = await new_code(world)
    clock.advance(world.settings.code_lifetime - 10)
    await exchange(world, code)


async def test_redirect_uri_bound_to_the_code(world: World) -> None:
    code = await new_code(world, redirect_uri=REDIRECT_URIS[1])
    with pytest.raises(InvalidGrant, match=re.escape('Invalid "redirect_uri" in request.')):
        await exchange(world, code)
    with pytest.raises(InvalidGrant, match=re.escape('Invalid "code" in request.')):
        await exchange(world, code, redirect_uri=REDIRECT_URIS[1])


async def test_redirect_uri_mismatch(world: World) -> None:
    code = await new_code(world, redirect_uri=REDIRECT_URIS[1])
    with pytest.raises(InvalidGrant, match=re.escape('Invalid "redirect_uri" in request.')):
        await exchange(world, code, redirect_uri=REDIRECT_URIS[0])


async def test_redirect_uri_matching(world: World) -> None:
    code = await new_code(world, redirect_uri=REDIRECT_URIS[1])
    await exchange(world, code, redirect_uri=REDIRECT_URIS[1])


async def test_redirect_uri_not_needed_when_authorize_had_none(world: World) -> None:
    await exchange(world, await new_code(world), redirect_uri=REDIRECT_URIS[0])


async def test_pkce_exchange(world: World) -> None:
    issued = await pkce_tokens(world)
    assert await is_live(world, issued.access_token)


async def test_failed_pkce_burns_the_code(world: World) -> None:
    verifier, challenge = pkce_pair()
    code = await new_code(world, code_challenge=challenge, code_challenge_method="S256")
    with pytest.raises(InvalidGrant, match=re.escape("Code challenge failed.")):
        await exchange(world, code, code_verifier=pkce_pair()[0])
    with pytest.raises(InvalidGrant, match=re.escape('Invalid "code" in request.')):
        await exchange(world, code, code_verifier=verifier)
    assert await token_rows(world) == []


async def test_missing_verifier_burns_the_code(world: World) -> None:
    verifier, challenge = pkce_pair()
    code = await new_code(world, code_challenge=challenge, code_challenge_method="S256")
    with pytest.raises(InvalidRequest, match=re.escape('Missing "code_verifier"')):
        await exchange(world, code)
    with pytest.raises(InvalidGrant):
        await exchange(world, code, code_verifier=verifier)


async def test_malformed_verifier_does_not_spend_the_code(world: World) -> None:
    verifier, challenge = pkce_pair()
    code = await new_code(world, code_challenge=challenge, code_challenge_method="S256")
    with pytest.raises(InvalidRequest, match=re.escape('Invalid "code_verifier"')):
        await exchange(world, code, code_verifier="short")
    assert (await code_row(world, code)).used_at is None
    await exchange(world, code, code_verifier=verifier)


async def test_verifier_without_challenge_is_refused(world: World) -> None:
    code = await new_code(world)
    with pytest.raises(InvalidGrant, match=re.escape("Code challenge failed.")):
        await exchange(world, code, code_verifier=pkce_pair()[0])


async def test_grant_type_is_checked_before_the_client(world: World) -> None:
    with pytest.raises(UnsupportedGrantType):
        await world.server.token.issue(None, {"grant_type": "password"})
    with pytest.raises(InvalidRequest, match=re.escape('Missing "grant_type" in request.')):
        await world.server.token.issue(None, {})
    with pytest.raises(InvalidClient):
        await world.server.token.issue(None, {"grant_type": "authorization_code"})


# --- refresh_token ---------------------------------------------------------------------------


async def test_refresh_rotates_the_pair(world: World) -> None:
    first = await pkce_tokens(world)
    second = await refresh(world, first.refresh_token)

    assert second.scope == first.scope == "profile:read workouts:read"
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    assert not await is_live(world, first.access_token)
    assert await is_live(world, second.access_token)
    old, new = await token_rows(world)
    assert old.rotated_at is not None and old.revoked_at is not None
    assert new.rotated_at is None and new.revoked_at is None
    assert new.family_id == old.family_id and new.user_id == old.user_id


async def test_reused_refresh_token_revokes_the_family(world: World) -> None:
    first = await pkce_tokens(world)
    second = await refresh(world, first.refresh_token)
    unrelated = await pkce_tokens(world)

    with pytest.raises(InvalidGrant) as caught:
        await refresh(world, first.refresh_token)
    assert caught.value.body() == {"error": "invalid_grant"}

    assert not await is_live(world, second.access_token)
    with pytest.raises(InvalidGrant):
        await refresh(world, second.refresh_token)
    assert await is_live(world, unrelated.access_token)
    await refresh(world, unrelated.refresh_token)


async def test_refresh_narrower_scope(world: World) -> None:
    first = await pkce_tokens(world)
    narrower = await refresh(world, first.refresh_token, scope="workouts:read")
    assert narrower.scope == "workouts:read"
    with pytest.raises(InvalidScope):
        await refresh(world, narrower.refresh_token, scope="profile:read workouts:read")


async def test_refresh_wider_scope_is_refused_and_keeps_the_token(world: World) -> None:
    first = await pkce_tokens(world)
    with pytest.raises(InvalidScope):
        await refresh(world, first.refresh_token, scope="profile:read profile:write")
    assert await is_live(world, first.access_token)
    await refresh(world, first.refresh_token)


async def test_refresh_bound_to_its_client(world: World) -> None:
    first = await pkce_tokens(world)
    with pytest.raises(InvalidGrant):
        await refresh(world, first.refresh_token, client=world.other_client)
    assert await is_live(world, first.access_token)
    await refresh(world, first.refresh_token)


async def test_refresh_after_access_expiry_but_not_after_refresh_expiry(world: World) -> None:
    first = await pkce_tokens(world)
    clock.advance(world.settings.access_token_lifetime + 1)
    assert not await is_live(world, first.access_token)
    second = await refresh(world, first.refresh_token)
    clock.advance(world.settings.refresh_lifetime + 1)
    with pytest.raises(InvalidGrant):
        await refresh(world, second.refresh_token)


async def test_refresh_missing_or_unknown(world: World) -> None:
    with pytest.raises(InvalidRequest, match=re.escape('Missing "refresh_token" in request.')):
        await world.server.token.issue(world.client.post(), {"grant_type": "refresh_token"})
    with pytest.raises(InvalidGrant):
        await refresh(world, "nope")
    first = await pkce_tokens(world)
    with pytest.raises(InvalidGrant):
        await refresh(world, first.access_token)


# --- revocation ------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
async def test_revoking_either_token_kills_the_pair(world: World, which: str) -> None:
    issued = await pkce_tokens(world)
    await world.server.revocation.revoke(
        world.client.post(), {"token": getattr(issued, which), "token_type_hint": "whatever"}
    )
    assert not await is_live(world, issued.access_token)
    with pytest.raises(InvalidGrant):
        await refresh(world, issued.refresh_token)


async def test_revoking_another_clients_token_does_nothing(world: World) -> None:
    issued = await pkce_tokens(world)
    await world.server.revocation.revoke(world.other_client.post(), {"token": issued.access_token})
    assert await is_live(world, issued.access_token)


async def test_revoking_unknown_or_revoked_tokens_is_quiet(world: World) -> None:
    issued = await pkce_tokens(world)
    for token in ("nope", "x" * 5000, issued.access_token, issued.access_token):
        await world.server.revocation.revoke(world.client.basic(), {"token": token})
    assert not await is_live(world, issued.access_token)


async def test_revocation_needs_a_token_and_a_client(world: World) -> None:
    with pytest.raises(InvalidRequest, match=re.escape('Missing "token" in request.')):
        await world.server.revocation.revoke(world.client.post(), {})
    with pytest.raises(InvalidClient):
        await world.server.revocation.revoke(None, {"token": "x"})
