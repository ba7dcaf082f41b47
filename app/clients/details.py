"""An app (OAuth2 client) as its owner sees it: everything but the secret's hash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ClientDetails:
    id: int
    client_id: str
    name: str
    website: str
    description: str | None
    redirect_uris: Sequence[str]
    scope: str
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class ListedClient(ClientDetails):
    """One of a page of apps, with the number of the user's apps on every page."""

    total: int


@dataclass(frozen=True, slots=True)
class ClientPresentation:
    """What the consent page says of an app besides its name: who registered it, and its
    description."""

    owner: str
    description: str | None
