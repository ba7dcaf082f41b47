"""The first-party user token: an HS256 JWT (python-jose), decoded with the algorithm pinned."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jose import ExpiredSignatureError, JWTError, jwt

ALGORITHM = "HS256"


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


class UserTokenCodec:
    def __init__(self, key: str, lifetime: int) -> None:
        self._key = key
        self._lifetime = lifetime

    def encode(self, user_id: int, now: datetime) -> str:
        claims = {
            "sub": str(user_id),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self._lifetime)).timestamp()),
            "jti": secrets.token_hex(16),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def decode(self, token: str) -> UserClaims:
        """Claims of a valid token; ExpiredUserToken or InvalidUserToken otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require_exp": True, "require_sub": True, "require_jti": True},
            )
            return UserClaims(
                user_id=int(claims["sub"]),
                jti=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except ExpiredSignatureError as exc:
            raise ExpiredUserToken from exc
        except (JWTError, KeyError, TypeError, ValueError) as exc:
            raise InvalidUserToken from exc
