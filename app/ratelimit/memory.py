"""Counters in this process's memory, as a `limits` storage whose cost per call does not grow
with the number of keys.

`limits.aio.storage.MemoryStorage` expires keys with a sweep that walks every key, started
again after each `incr` in a task that holds the event loop for the whole walk: with 100 000
keys (trust markers live 30 days, so a busy single-process server gets there without any
attack) each counted attempt cost 12 to 26 ms of blocked loop, against 10 µs here
(`bench/ratelimit_memory.py`). Here the expiries sit in a heap, and each `incr` drops at most
`SWEEP` closed windows, so a call costs O(log n).

Nothing is ever dropped before its window closes: an active limit is never reset to make room
(the bound on memory comes from how keys are made, see `app.ratelimit.guards`). Every method
runs without awaiting, so concurrent requests on the event loop cannot interleave inside one:
`incr` is atomic, as the strategies need.
"""

from __future__ import annotations

import heapq
import time
from typing import ClassVar

from limits.aio.storage import Storage

# Closed windows dropped per `incr`: more than the one key an `incr` can create, so the sweep
# keeps up, and few enough that no call pays for a mass expiry.
SWEEP = 64
# Heap entries left behind by `clear` are dropped once they outnumber the live keys.
COMPACT_SLACK = 1024


class ExpiringMemoryStorage(Storage):
    """Fixed-window counters (`limits.aio.strategies.FixedWindowRateLimiter`) in a dict."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["async+fittrackee-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self._counts: dict[str, int] = {}
        self._closes_at: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ()  # nothing here talks to a server

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount` to `key`; a closed or absent window opens, lasting `expiry` seconds."""
        now = time.time()
        self._drop_closed(now)
        if self._closes_at.get(key, 0.0) <= now:
            closes_at = now + expiry
            self._counts[key] = 0
            self._closes_at[key] = closes_at
            heapq.heappush(self._heap, (closes_at, key))
            self._compact()
        count = self._counts[key] + amount
        self._counts[key] = count
        return count

    async def get(self, key: str) -> int:
        if self._closes_at.get(key, 0.0) <= time.time():
            return 0
        return self._counts[key]

    async def get_expiry(self, key: str) -> float:
        now = time.time()
        closes_at = self._closes_at.get(key, 0.0)
        return closes_at if closes_at > now else now

    async def clear(self, key: str) -> None:
        self._counts.pop(key, None)
        self._closes_at.pop(key, None)

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self._counts)
        self._counts.clear()
        self._closes_at.clear()
        self._heap.clear()
        return count

    def __len__(self) -> int:
        """Keys held, closed windows not yet dropped included."""
        return len(self._counts)

    def _drop_closed(self, now: float) -> None:
        heap = self._heap
        for _ in range(SWEEP):
            if not heap or heap[0][0] > now:
                return
            closes_at, key = heapq.heappop(heap)
            if self._closes_at.get(key) == closes_at:  # not cleared or reopened since
                del self._closes_at[key]
                del self._counts[key]

    def _compact(self) -> None:
        """Rebuild the heap from the live keys when stale entries dominate: O(n) once per
        n stale entries, so O(1) per call on average."""
        if len(self._heap) > 2 * len(self._closes_at) + COMPACT_SLACK:
            self._heap = [(closes_at, key) for key, closes_at in self._closes_at.items()]
            heapq.heapify(self._heap)
