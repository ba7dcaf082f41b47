"""Fixed-window counters behind one small API, in process memory or in Redis.

A window opens at a key's first hit and lasts `window` seconds; every hit in it adds one, and
when it closes the count starts again from zero. `RateLimiter` fails open: a backend that
errors (Redis down) is logged and the request allowed, so the limiter can never take the
service down with it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

from app import clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Usage:
    """How many hits a key has in its current window, and seconds until that window closes."""

    count: int
    retry_after: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """`allowed` is False once a key's count has reached the limit."""

    allowed: bool
    count: int
    retry_after: int


EMPTY = Usage(0, 0)
ALLOW = Verdict(True, 0, 0)


class Backend(Protocol):
    async def hit(self, key: str, window: int) -> Usage: ...

    async def usage(self, key: str) -> Usage: ...

    async def reset(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryBackend:
    """Counters in this process only: right for one worker, and for tests.

    Time comes from `app.clock`, so tests close windows with `clock.advance`. Every call runs
    without awaiting, so concurrent requests on the event loop cannot interleave inside one.
    At most `max_keys` keys are kept: past that, closed windows are swept and then the oldest
    keys dropped, so a flood of distinct keys can neither grow memory without bound nor make
    every request pay for a sweep.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (count, closes at)
        self._max_keys = max_keys

    @staticmethod
    def _now() -> float:
        return clock.utcnow().timestamp()

    async def hit(self, key: str, window: int) -> Usage:
        now = self._now()
        count, closes_at = self._windows.get(key, (0, 0.0))
        if closes_at <= now:
            count, closes_at = 0, now + window
            self._windows.pop(key, None)
            if len(self._windows) >= self._max_keys:
                self._make_room(now)
        count += 1
        self._windows[key] = (count, closes_at)
        return Usage(count, _seconds(closes_at - now))

    async def usage(self, key: str) -> Usage:
        now = self._now()
        count, closes_at = self._windows.get(key, (0, 0.0))
        if closes_at <= now:
            return EMPTY
        return Usage(count, _seconds(closes_at - now))

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    async def close(self) -> None:
        self._windows.clear()

    def _make_room(self, now: float) -> None:
        """Sweep closed windows; if that frees too little, drop the oldest tenth. Either way
        the next many inserts find room without another O(n) pass."""
        self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        excess = len(self._windows) - self._max_keys + max(1, self._max_keys // 10)
        if excess > 0:
            for key in list(self._windows)[:excess]:
                del self._windows[key]

    def __len__(self) -> int:
        return len(self._windows)


class RateLimiter:
    """`hit` / `check` / `reset` on string keys such as `"login-ip:1.2.3.4"`.

    A limit is the number of hits a window may hold: with `limit=3` the first three hits
    are allowed and the fourth is not, until the window closes.

    Fails open: when the backend errors, the request is allowed, a warning logged, and the
    backend left alone for `cooldown` seconds, so that an unreachable Redis costs one failed
    call per cooldown rather than a timeout per request.
    """

    def __init__(self, backend: Backend, cooldown: float = 5.0) -> None:
        self.backend = backend
        self._cooldown = cooldown
        self._down_until = -math.inf

    async def hit(self, key: str, limit: int, window: int) -> Verdict:
        """Count one event for `key`; allowed while the count stays within `limit`."""
        if self._backend_down():
            return ALLOW
        try:
            usage = await self.backend.hit(key, window)
        except Exception as exc:
            return self._fail_open("hit", exc)
        return Verdict(usage.count <= limit, usage.count, usage.retry_after)

    async def check(self, key: str, limit: int) -> Verdict:
        """Whether one more event for `key` would be within `limit`, counting nothing."""
        if self._backend_down():
            return ALLOW
        try:
            usage = await self.backend.usage(key)
        except Exception as exc:
            return self._fail_open("check", exc)
        return Verdict(usage.count < limit, usage.count, usage.retry_after)

    async def reset(self, key: str) -> None:
        """Forget `key`'s window (a successful login clears the account's failures)."""
        if self._backend_down():
            return
        try:
            await self.backend.reset(key)
        except Exception as exc:
            self._fail_open("reset", exc)

    async def close(self) -> None:
        try:
            await self.backend.close()
        except Exception as exc:
            log.warning("closing the rate limiter failed: %s", type(exc).__name__)

    def _backend_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _fail_open(self, operation: str, exc: Exception) -> Verdict:
        self._down_until = time.monotonic() + self._cooldown
        log.warning(
            "rate limiter %s failed (%s: %s): requests are not limited for the next %gs",
            operation,
            type(exc).__name__,
            exc,
            self._cooldown,
        )
        return ALLOW


def _seconds(remaining: float) -> int:
    """Whole seconds for `Retry-After` (RFC 9110 §10.2.3), never 0 while a window is open."""
    return max(1, math.ceil(remaining))
