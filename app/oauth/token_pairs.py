"""Minting an access/refresh token pair: what the client is shown, and what is stored."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.config import Settings
from app.oauth.ports import NewPair
from app.oauth.secrets import (
    ACCESS_TOKEN_LENGTH,
    REFRESH_TOKEN_LENGTH,
    hash_secret,
    random_alphanumeric,
)

TOKEN_TYPE = "Bearer"


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """The successful token response (RFC 6749 §5.1); the plain tokens exist only here."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str

    def response(self) -> dict[str, Any]:
        """Exactly FitTrackee's members; `scope` is a space-separated string (§5.1)."""
        return {
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
            "token_type": TOKEN_TYPE,
        }


def new_family_id() -> str:
    """Names the chain of rotations that starts at one authorization code (RFC 9700 §4.14.2)."""
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class MintedPair:
    """New random tokens, and what is stored of them (`stored`: hashes and times only,
    RFC 6749 §10.3, §10.4). The scope is the storage's to decide (the code's, the spent
    refresh token's, or a narrower one), so the response is made once it is known."""

    access_token: str
    refresh_token: str
    expires_in: int
    stored: NewPair

    def issued(self, scope: str) -> IssuedTokens:
        return IssuedTokens(
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            expires_in=self.expires_in,
            scope=scope,
        )


def mint_pair(now: datetime, settings: Settings) -> MintedPair:
    """42 and 48 random alphanumerics, as FitTrackee's tokens, living the configured times."""
    access_token = random_alphanumeric(ACCESS_TOKEN_LENGTH)
    refresh_token = random_alphanumeric(REFRESH_TOKEN_LENGTH)
    return MintedPair(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=settings.access_token_lifetime,
        stored=NewPair(
            access_token_hash=hash_secret(access_token),
            refresh_token_hash=hash_secret(refresh_token),
            issued_at=now,
            access_expires_at=now + timedelta(seconds=settings.access_token_lifetime),
            refresh_expires_at=now + timedelta(seconds=settings.refresh_lifetime),
        ),
    )
