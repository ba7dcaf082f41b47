"""Brute-force limits: the keys and policies (`guards`) over `limits`' counters in memory or
Redis (`counters`, `memory`). Nothing here knows HTTP: a refusal is `RateLimited`, which the
app's one error mapping (`app.api.errors`) turns into a 429."""

from app.ratelimit.counters import Counters
from app.ratelimit.guards import (
    Attempt,
    AuthRateLimits,
    Policy,
    RateLimited,
    Rule,
    Surface,
)

__all__ = [
    "Attempt",
    "AuthRateLimits",
    "Counters",
    "Policy",
    "RateLimited",
    "Rule",
    "Surface",
]
