"""The engine's errors: bodies as FitTrackee sends them, headers that are valid HTTP."""

from __future__ import annotations

import re

import pytest

from app.oauth.errors import InsufficientScope, InvalidGrant, InvalidToken, quoted

# RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
QUOTED_STRING = r'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
AUTH_PARAM = re.compile(rf"([!#$%&'*+.^_`|~0-9A-Za-z-]+)=({QUOTED_STRING})")


def auth_params(challenge: str) -> dict[str, str]:
    """The auth-params of a one-challenge `WWW-Authenticate` value, unquoted; an assertion
    error when the value is not `scheme param="...", param="..."` exactly (RFC 9110 §11.6.1)."""
    scheme, _, rest = challenge.partition(" ")
    assert scheme == "Bearer"
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        found = AUTH_PARAM.match(rest, position)
        assert found is not None, f"not an auth-param at {rest[position:]!r}"
        params[found[1]] = re.sub(r"\\(.)", r"\1", found[2][1:-1])
        position = found.end()
        if rest.startswith(", ", position):
            position += 2
        else:
            assert position == len(rest), f"junk after a parameter: {rest[position:]!r}"
    return params


@pytest.mark.parametrize(
    ("value", "expected"),
    [("plain", '"plain"'), ('say "hi"', r'"say \"hi\""'), ("back\\slash", r'"back\\slash"')],
)
def test_quoted_escapes_quotes_and_backslashes(value: str, expected: str) -> None:
    assert quoted(value) == expected


@pytest.mark.parametrize(
    "error",
    [
        InvalidToken('Invalid "token" in request.'),
        InvalidToken('a \\" trick", error="forged'),
        InsufficientScope('profile:read"', 'Needs "profile:read"'),
    ],
)
def test_descriptions_with_quotes_stay_one_valid_challenge(error: InvalidToken) -> None:
    params = auth_params(error.headers()["WWW-Authenticate"])
    assert params["error"] == error.error
    assert params["error_description"] == error.description
    assert set(params) <= {"error", "error_description", "scope"}
    if isinstance(error, InsufficientScope):
        assert params["scope"] == error.scope


def test_the_json_body_keeps_fittrackees_description_as_it_is() -> None:
    """RFC 6749 §5.2 leaves `"` out of error_description; FitTrackee sends it, and clients
    written for FitTrackee compare the text, so the body is not changed."""
    assert InvalidGrant('Invalid "code" in request.').body() == {
        "error": "invalid_grant",
        "error_description": 'Invalid "code" in request.',
    }


def test_the_default_challenges_are_unchanged() -> None:
    assert InvalidToken().headers()["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="The access token provided is '
        'expired, revoked, malformed, or invalid for other reasons."'
    )
    assert InsufficientScope("profile:read").headers()["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", error_description="The request requires higher '
        'privileges than provided by the access token.", scope="profile:read"'
    )
