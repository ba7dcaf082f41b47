"""Proof Key for Code Exchange (RFC 7636): checking a challenge at authorization and the
verifier at the token endpoint.

Only `S256` is accepted unless the `oauth2_allow_plain_pkce` setting allows `plain`
(RFC 9700 §2.1.1: `plain` protects nothing once the authorization request leaks).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from app.oauth.errors import InvalidGrant, InvalidRequest

S256 = "S256"
PLAIN = "plain"

# RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
# §4.2 gives the challenge the same alphabet (a S256 challenge is always 43 characters).
_UNRESERVED_43_128 = re.compile(r"[A-Za-z0-9\-._~]{43,128}\Z")

MISSING_CHALLENGE = 'Missing "code_challenge"'
MISSING_METHOD = 'Missing "code_challenge_method"'
UNSUPPORTED_METHOD = 'Unsupported "code_challenge_method"'
INVALID_CHALLENGE = 'Invalid "code_challenge"'
MISSING_VERIFIER = 'Missing "code_verifier"'
INVALID_VERIFIER = 'Invalid "code_verifier"'
CHALLENGE_FAILED = "Code challenge failed."


def well_formed(value: str) -> bool:
    """True for a string of 43-128 unreserved characters (RFC 7636 §4.1, §4.2)."""
    return _UNRESERVED_43_128.match(value) is not None


def checked_challenge(
    challenge: str | None, method: str | None, *, required: bool, allow_plain: bool
) -> tuple[str, str] | None:
    """The (challenge, method) to store with a code, or None when the client sent no PKCE.

    Raises InvalidRequest (RFC 7636 §4.4.1) for a malformed or half-given challenge, a method
    other than S256 (or plain when allowed), and for no challenge when PKCE is required. The
    method is mandatory with a challenge: the §4.3 default of `plain` is not honoured.
    """
    if challenge is None:
        if method is not None or required:
            raise InvalidRequest(MISSING_CHALLENGE)
        return None
    if method is None:
        raise InvalidRequest(MISSING_METHOD)
    if method != S256 and not (method == PLAIN and allow_plain):
        raise InvalidRequest(UNSUPPORTED_METHOD)
    if not well_formed(challenge):
        raise InvalidRequest(INVALID_CHALLENGE)
    return challenge, method


def check_verifier_format(verifier: str | None) -> None:
    """A verifier, when sent, must be well formed (RFC 7636 §4.1); checked before the code is
    looked at, so a typo does not spend it."""
    if verifier is not None and not well_formed(verifier):
        raise InvalidRequest(INVALID_VERIFIER)


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(verifier: str | None, challenge: str | None, method: str | None) -> None:
    """RFC 7636 §4.6, at the token endpoint, for a code already spent.

    A code issued with a challenge needs its verifier; a verifier for a code issued without
    one is refused too (RFC 9700 §2.1.1: it would let an attacker who injected a code without
    PKCE pass a client that uses PKCE).
    """
    if challenge is None:
        if verifier is not None:
            raise InvalidGrant(CHALLENGE_FAILED)
        return
    if verifier is None:
        raise InvalidRequest(MISSING_VERIFIER)
    check_verifier_format(verifier)
    computed = s256(verifier) if method == S256 else verifier
    if not hmac.compare_digest(computed.encode("ascii"), challenge.encode("ascii")):
        raise InvalidGrant(CHALLENGE_FAILED)
