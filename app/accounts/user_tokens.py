"""The first-party user token: an HS256 JWT (python-jose), decoded with the algorithm pinned.

Pinning the algorithm (RFC 8725 §3.1) refuses tokens whose header says `none`, `HS512` or an
asymmetric algorithm, whatever key they were made with. Expiry is checked against the app's
clock (`app.clock`), so tests can move time and every part of the app agrees on "now".
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jose import JWTError, jwt

from app import clock

ALGORITHM = "HS256"
MAX_USER_ID = 2**31 - 1  # the `users.id` column is a 32-bit INTEGER


class ExpiredUserToken(Exception):
    pass


class InvalidUserToken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class UserClaims:
    user_id: int
    jti: str
    expires_at: datetime


def looks_like_jwt(token: str) -> bool:
    """Our access tokens are alphanumeric; a JWT has two dots. No decoding needed to tell."""
    return token.count(".") == 2


# Verified tokens remembered per process. A first-party client sends the same token on every
# request for hours, and verifying it (base64, JSON, HMAC, claim checks) costs more than the
# query that follows; the outcome depends only on the token and the key, so it is safe to
# keep. Expiry is still checked on every call, and revocation (logout) in the database.
VERIFIED_CACHE_SIZE = 4096


class UserTokenCodec:
    def __init__(self, key: str, lifetime: int) -> None:
        self._key = key
        self._lifetime = lifetime
        # Only successes are remembered (an exception is never cached), so invalid tokens,
        # which anyone can make up, cannot crowd out valid ones.
        self._verified = functools.lru_cache(maxsize=VERIFIED_CACHE_SIZE)(self._verify)

    def encode(self, user_id: int, now: datetime) -> str:
        """A token for `user_id`; its random `jti` lets logout revoke this token alone."""
        claims = {
            "sub": str(user_id),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self._lifetime)).timestamp()),
            "jti": secrets.token_hex(16),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def decode(self, token: str, now: datetime | None = None) -> UserClaims:
        """Claims of a valid token; ExpiredUserToken or InvalidUserToken otherwise."""
        user_claims = self._verified(token)
        if user_claims.expires_at <= (now or clock.utcnow()):
            raise ExpiredUserToken
        return user_claims

    def _verify(self, token: str) -> UserClaims:
        """Signature (HS256 only) and claims, but not expiry, which depends on the time."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                # `exp` is checked below, against the app's clock (jose's `require_exp` would
                # switch its own check back on).
                options={"verify_exp": False, "require_sub": True, "require_jti": True},
            )
            expires = claims["exp"]
            if isinstance(expires, bool) or not isinstance(expires, int):
                raise InvalidUserToken
            user_claims = UserClaims(
                user_id=_user_id(claims["sub"]),
                jti=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(expires, UTC),
            )
        except (JWTError, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
            raise InvalidUserToken from exc
        return user_claims


def _user_id(subject: object) -> int:
    """`sub` as a user id the database can hold: ASCII digits (`int` would also take "-5",
    " 5" or other scripts' digits) and within `users.id`'s range. A 30-digit number made
    the query fail with a 500 on both databases; it is now simply not a token of ours."""
    if not isinstance(subject, str) or not (subject.isascii() and subject.isdigit()):
        raise InvalidUserToken
    if len(subject) > 10 or not 1 <= int(subject) <= MAX_USER_ID:
        raise InvalidUserToken
    return int(subject)
