"""FitTrackee's scopes, the catalogue one instance offers, and the set arithmetic every grant
needs (RFC 6749 §3.3).

Which scopes exist depends on the FitTrackee API version an instance implements
(`FITTRACKEE_API_VERSION`): FitTrackee added scopes in 0.8, 0.9, 1.0 and 1.3, and a client
written for one version asks for that version's scopes. A scope that opens nothing on this
server is still registered, granted and introspected: resource servers behind it decide what
it means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

Version = tuple[int, int, int]

# The oldest FitTrackee whose OAuth2 API this server speaks (the seed's 0.7.17 is its release).
OLDEST_VERSION: Version = (0, 7, 0)
VERSION_FORMAT = re.compile(r"(\d{1,4})\.(\d{1,4})\.(\d{1,4})\Z")

# Every scope of FitTrackee 1.3 with the release that added it. Canonical order: this table's,
# which keeps 0.7's order for 0.7's seven scopes and puts each later one after them by release.
FITTRACKEE_SCOPES: tuple[tuple[str, Version], ...] = (
    ("application:write", (0, 7, 0)),
    ("profile:read", (0, 7, 0)),
    ("profile:write", (0, 7, 0)),
    ("users:read", (0, 7, 0)),
    ("users:write", (0, 7, 0)),
    ("workouts:read", (0, 7, 0)),
    ("workouts:write", (0, 7, 0)),
    ("equipments:read", (0, 8, 0)),
    ("equipments:write", (0, 8, 0)),
    ("follow:read", (0, 9, 0)),
    ("follow:write", (0, 9, 0)),
    ("notifications:read", (0, 9, 0)),
    ("notifications:write", (0, 9, 0)),
    ("reports:read", (0, 9, 0)),
    ("reports:write", (0, 9, 0)),
    ("geocode:read", (1, 0, 0)),
    ("media:write", (1, 3, 0)),
)


def parse_version(value: str) -> Version:
    """`"1.3.6"` to `(1, 3, 6)`; ValueError for anything else, or for a FitTrackee older than
    0.7 (whose OAuth2 API this server does not speak)."""
    match = VERSION_FORMAT.match(value.strip())
    version = (int(match[1]), int(match[2]), int(match[3])) if match else None
    if version is None or version < OLDEST_VERSION:
        raise ValueError("a FitTrackee version from 0.7.0 on is required, such as 1.3.6")
    return version


@dataclass(frozen=True, slots=True)
class ScopeCatalogue:
    """The scopes one instance offers, in canonical order: what apps may register, what
    authorization narrows to, and what discovery, the consent page and the docs list."""

    scopes: tuple[str, ...]
    known: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "known", frozenset(self.scopes))

    @classmethod
    def for_version(cls, version: Version) -> ScopeCatalogue:
        """FitTrackee `version`'s scopes: every scope added at or before it."""
        return cls(tuple(scope for scope, since in FITTRACKEE_SCOPES if since <= version))

    def known_in(self, value: str | None) -> list[str]:
        """The known scopes of a scope string, order kept; unknown ones dropped, as FitTrackee
        drops them."""
        return [scope for scope in parse_scope(value) if scope in self.known]

    def format(self, scopes: Iterable[str]) -> str:
        """Canonical form: the known scopes among `scopes`, in catalogue order."""
        wanted = set(scopes)
        return " ".join(scope for scope in self.scopes if scope in wanted)


def parse_scope(value: str | None) -> list[str]:
    """Space-separated scope string to a de-duplicated list, order kept (RFC 6749 §3.3)."""
    seen: dict[str, None] = {}
    for item in (value or "").split():
        seen.setdefault(item, None)
    return list(seen)


def narrowed_scope(granted: str, requested: Iterable[str]) -> str:
    """The scopes of the canonical `granted` string that are in `requested`, order kept: a
    refresh may ask for less than the token had (RFC 6749 §6)."""
    wanted = set(requested)
    return " ".join(scope for scope in granted.split() if scope in wanted)


_CANONICAL_RANK = {scope: rank for rank, (scope, _) in enumerate(FITTRACKEE_SCOPES)}


def scope_union(*scopes: str | None) -> str:
    """Every scope of the given scope strings, once each, in canonical order: the order of
    `FITTRACKEE_SCOPES`, of which each instance's catalogue is a part (a scope none knows
    goes last, alphabetically). How a remembered consent grows, whatever the catalogue."""
    found = {item for value in scopes for item in parse_scope(value)}
    return " ".join(sorted(found, key=lambda item: (_CANONICAL_RANK.get(item, 1 << 16), item)))
