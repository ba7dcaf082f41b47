"""FitTrackee 0.7 scopes and the set arithmetic every grant needs."""

from __future__ import annotations

SCOPES: tuple[str, ...] = (
    "application:write",
    "profile:read",
    "profile:write",
    "users:read",
    "users:write",
    "workouts:read",
    "workouts:write",
)
KNOWN = frozenset(SCOPES)


def parse_scope(value: str | None) -> list[str]:
    """Space-separated scope string to a de-duplicated list, order kept (RFC 6749 §3.3)."""
    seen: dict[str, None] = {}
    for item in (value or "").split():
        seen.setdefault(item, None)
    return list(seen)


def format_scope(scopes: frozenset[str] | set[str] | list[str]) -> str:
    """Canonical form: known scopes in FitTrackee's order, space-separated."""
    wanted = set(scopes)
    return " ".join(s for s in SCOPES if s in wanted)
