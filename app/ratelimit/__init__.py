"""Brute-force limits: counters in memory or Redis (`limiter`), and the calls routers make
around logins, registrations and client authentication (`guards`)."""

from app.ratelimit.guards import (
    TOO_MANY_REQUESTS,
    AuthRateLimits,
    RateLimited,
    client_ip,
    rate_limits,
)
from app.ratelimit.limiter import MemoryBackend, RateLimiter, Usage, Verdict

__all__ = [
    "TOO_MANY_REQUESTS",
    "AuthRateLimits",
    "MemoryBackend",
    "RateLimited",
    "RateLimiter",
    "Usage",
    "Verdict",
    "client_ip",
    "rate_limits",
]
