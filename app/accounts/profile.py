"""A user's profile as the services read it: from the accounts' own queries, and from the
OAuth2 engine with an access token (`app.oauth.ports.AccessToken`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class UserProfile:
    id: int
    username: str
    email: str
    created_at: datetime
    is_active: bool
    accepted_policy_at: datetime | None
    first_name: str | None
    last_name: str | None
    bio: str | None
    location: str | None
