"""The user-token codec remembers verified tokens, never failures, and still checks expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jose import jwt

from app import clock
from app.accounts import user_tokens
from app.accounts.user_tokens import (
    VERIFIED_CACHE_SIZE,
    ExpiredUserToken,
    InvalidUserToken,
    UserTokenCodec,
)

KEY = "k" * 40


def _counting_decode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = jwt.decode

    def decode(token: str, *args: object, **kwargs: object) -> object:
        calls.append(token)
        return original(token, *args, **kwargs)

    monkeypatch.setattr(user_tokens.jwt, "decode", decode)
    return calls


def test_a_valid_token_is_verified_once(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = UserTokenCodec(KEY, 3600)
    token = codec.encode(7, clock.utcnow())
    calls = _counting_decode(monkeypatch)
    first, second = codec.decode(token), codec.decode(token)
    assert first == second
    assert first.user_id == 7
    assert calls == [token]


def test_a_remembered_token_still_expires() -> None:
    codec = UserTokenCodec(KEY, 60)
    now = clock.utcnow()
    token = codec.encode(7, now)
    assert codec.decode(token, now).user_id == 7
    with pytest.raises(ExpiredUserToken):
        codec.decode(token, now + timedelta(seconds=61))


def test_invalid_tokens_are_refused_every_time_and_not_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codec = UserTokenCodec(KEY, 3600)
    forged = UserTokenCodec("another key" * 4, 3600).encode(7, clock.utcnow())
    calls = _counting_decode(monkeypatch)
    for _ in range(2):
        with pytest.raises(InvalidUserToken):
            codec.decode(forged)
    assert calls == [forged, forged]
    assert codec._verified.cache_info().currsize == 0
    assert codec._verified.cache_info().maxsize == VERIFIED_CACHE_SIZE


@pytest.mark.parametrize(
    "subject",
    ["1" * 30, str(2**31), "0", "-5", "+5", " 5", "abc", "\u0663", "1e3", ""],
    ids=[
        "30 digits",
        "2**31",
        "zero",
        "negative",
        "plus",
        "space",
        "letters",
        "arabic",
        "exp",
        "empty",
    ],
)
async def test_a_signed_token_with_an_impossible_subject_is_invalid_not_a_500(client, subject):
    """Signed with the right key, so only the `sub` itself can be refused (issue 10)."""
    from tests.helpers import TEST_SECRET_KEY

    now = clock.utcnow()
    claims = {
        "sub": subject,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        "jti": "j" * 32,
    }
    token = jwt.encode(claims, TEST_SECRET_KEY, algorithm="HS256")
    response = await client.get("/api/auth/profile", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == {"status": "error", "message": "invalid token, please log in again"}
