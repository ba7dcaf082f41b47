"""RFC 7636 rules, as pure functions."""

from __future__ import annotations

import re

import pytest

from app.oauth import pkce
from app.oauth.errors import InvalidGrant, InvalidRequest

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_matches_the_rfc_example() -> None:
    assert pkce.s256(RFC_VERIFIER) == RFC_CHALLENGE


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a" * 42, False),
        ("a" * 43, True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("A-z0.9_~" * 6, True),
        ("a" * 42 + "+", False),
        ("a" * 42 + "/", False),
        ("a" * 42 + "=", False),
        ("a" * 42 + " ", False),
        ("a" * 42 + "é", False),
        ("a" * 43 + "\n", False),
    ],
)
def test_well_formed_is_43_to_128_unreserved_characters(value: str, ok: bool) -> None:
    assert pkce.well_formed(value) is ok


def test_no_pkce_is_allowed_unless_required() -> None:
    assert pkce.checked_challenge(None, None, required=False, allow_plain=False) is None
    with pytest.raises(InvalidRequest, match=re.escape('Missing "code_challenge"')):
        pkce.checked_challenge(None, None, required=True, allow_plain=False)


def test_s256_challenge_is_kept() -> None:
    assert pkce.checked_challenge(RFC_CHALLENGE, "S256", required=True, allow_plain=False) == (
        RFC_CHALLENGE,
        "S256",
    )


@pytest.mark.parametrize(
    ("challenge", "method", "allow_plain", "message"),
    [
        (None, "S256", False, 'Missing "code_challenge"'),
        (RFC_CHALLENGE, None, False, 'Missing "code_challenge_method"'),
        (RFC_CHALLENGE, "S512", False, 'Unsupported "code_challenge_method"'),
        (RFC_CHALLENGE, "s256", False, 'Unsupported "code_challenge_method"'),
        (RFC_CHALLENGE, "plain", False, 'Unsupported "code_challenge_method"'),
        ("abcdefghij", "S256", False, 'Invalid "code_challenge"'),
        ("a" * 129, "S256", False, 'Invalid "code_challenge"'),
        (RFC_CHALLENGE[:-1] + "=", "S256", False, 'Invalid "code_challenge"'),
        ("short", "plain", True, 'Invalid "code_challenge"'),
    ],
)
def test_bad_challenges_are_invalid_request(
    challenge: str | None, method: str | None, allow_plain: bool, message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        pkce.checked_challenge(challenge, method, required=False, allow_plain=allow_plain)
    assert caught.value.description == message
    assert caught.value.status_code == 400


def test_plain_only_when_allowed() -> None:
    verifier = "v" * 50
    assert pkce.checked_challenge(verifier, "plain", required=False, allow_plain=True) == (
        verifier,
        "plain",
    )


def test_verify_s256() -> None:
    pkce.verify(RFC_VERIFIER, RFC_CHALLENGE, "S256")
    with pytest.raises(InvalidGrant, match=re.escape("Code challenge failed.")):
        pkce.verify("x" * 43, RFC_CHALLENGE, "S256")


def test_verify_plain() -> None:
    pkce.verify("p" * 43, "p" * 43, "plain")
    with pytest.raises(InvalidGrant):
        pkce.verify("q" * 43, "p" * 43, "plain")


def test_verify_without_verifier_is_missing() -> None:
    with pytest.raises(InvalidRequest, match=re.escape('Missing "code_verifier"')):
        pkce.verify(None, RFC_CHALLENGE, "S256")


def test_verifier_for_a_code_without_challenge_fails() -> None:
    pkce.verify(None, None, None)
    with pytest.raises(InvalidGrant, match=re.escape("Code challenge failed.")):
        pkce.verify(RFC_VERIFIER, None, None)


@pytest.mark.parametrize("verifier", ["short", "a" * 129, "a" * 42 + "é"])
def test_malformed_verifier_is_invalid_request(verifier: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape('Invalid "code_verifier"')):
        pkce.check_verifier_format(verifier)
    with pytest.raises(InvalidRequest, match=re.escape('Invalid "code_verifier"')):
        pkce.verify(verifier, RFC_CHALLENGE, "S256")
