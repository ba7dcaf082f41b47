"""Client authentication: the one place (RFC 6749 §2.3.1)."""

from __future__ import annotations

import pytest

from app.oauth.clients import AuthMethod, PresentedCredentials
from app.oauth.errors import InvalidClient
from tests.oauth.conftest import World


async def test_right_secret_either_way(world: World) -> None:
    for credentials in (world.client.post(), world.client.basic()):
        client = await world.server.client_auth.authenticate(credentials)
        assert client.pk == world.client.pk
        assert client.client_id == world.client.client_id
        assert client.scope == {"profile:read", "workouts:read"}


@pytest.mark.parametrize("method", list(AuthMethod))
@pytest.mark.parametrize(
    "change",
    ["wrong secret", "empty secret", "unknown client", "other client's secret", "huge id"],
)
async def test_bad_credentials_are_invalid_client(
    world: World, method: AuthMethod, change: str
) -> None:
    client_id, secret = world.client.client_id, world.client.client_secret
    if change == "wrong secret":
        secret = secret[:-1] + ("a" if secret[-1] != "a" else "b")
    elif change == "empty secret":
        secret = ""
    elif change == "unknown client":
        client_id = "nope"
    elif change == "other client's secret":
        secret = world.other_client.client_secret
    else:
        client_id = "x" * 10_000
    with pytest.raises(InvalidClient) as caught:
        await world.server.client_auth.authenticate(PresentedCredentials(client_id, secret, method))
    error = caught.value
    assert error.status_code == 401
    assert error.body() == {"error": "invalid_client"}
    expected = {"WWW-Authenticate": 'Basic realm="oauth2"'} if method is AuthMethod.BASIC else {}
    assert error.headers() == expected


async def test_no_credentials_is_invalid_client(world: World) -> None:
    with pytest.raises(InvalidClient) as caught:
        await world.server.client_auth.authenticate(None)
    assert caught.value.headers() == {}
