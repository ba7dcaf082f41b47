"""The counters behind every limit: `limits`' fixed-window strategy over one storage, memory
(`ExpiringMemoryStorage`) or Redis (`limits.aio.storage.RedisStorage` on the `redis` package),
used through the strategy's public calls only (`hit`, `test`, `get_window_stats`, `clear`).

A fixed window opens at a key's first hit and closes `window` seconds later, whatever happens
in between, so a refusal's `Retry-After` is exact. `hit` is one atomic step in either storage
(an INCR with its expiry in one Lua call on Redis): N concurrent hits on a key with limit L
give exactly L successes, whichever workers they land on.

Fails open: when the storage errors (Redis down) a warning is logged, the request is served
without limits, and the storage is left alone for `cooldown` seconds, so an unreachable Redis
costs one failed call per cooldown rather than a timeout per request.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits import RateLimitItem
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.asyncio import BlockingConnectionPool, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from app.config import ConfigurationError
from app.ratelimit.memory import ExpiringMemoryStorage

log = logging.getLogger(__name__)

T = TypeVar("T")

# REDIS_URL schemes and the `limits` storage scheme for each.
REDIS_SCHEMES = {"redis": "async+redis", "rediss": "async+rediss", "unix": "async+redis+unix"}
# A dead Redis fails a call within these; a busy event loop must not look like one (failing
# open under a burst would switch the limits off exactly when they matter).
REDIS_CONNECT_TIMEOUT = 0.5
REDIS_TIMEOUT = 1.0
# Connections per worker; a burst beyond them waits for one instead of failing.
REDIS_CONNECTIONS = 32
REDIS_POOL_WAIT = 5.0


class StoreDown(Exception):
    """The storage failed or is cooling down: the caller serves the request unlimited."""


class Counters:
    def __init__(
        self,
        storage: Storage,
        *,
        cooldown: float = 5.0,
        pool: ConnectionPool | None = None,
    ) -> None:
        self.storage = storage
        self._strategy = FixedWindowRateLimiter(storage)
        self._pool = pool
        self._cooldown = cooldown
        self._down_until = -math.inf

    @classmethod
    def in_memory(cls) -> Counters:
        return cls(ExpiringMemoryStorage())

    @classmethod
    def in_redis(cls, url: str, key_prefix: str) -> Counters:
        """`limits`' Redis storage with the `redis` package (`implementation="redispy"`, as its
        docstring documents), over a pool of ours: a bounded number of connections that a
        burst queues for, short timeouts and no retries, so a dead Redis costs a request
        about a second once per cooldown, and `close` can release the connections."""
        scheme, separator, rest = url.partition("://")
        if not separator or scheme not in REDIS_SCHEMES:
            raise ConfigurationError("REDIS_URL must start with redis://, rediss:// or unix://")
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=REDIS_CONNECTIONS,
            timeout=REDIS_POOL_WAIT,
            socket_timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=30,
        )
        storage = RedisStorage(
            f"{REDIS_SCHEMES[scheme]}://{rest}",
            implementation="redispy",
            key_prefix=key_prefix,
            wrap_exceptions=True,
            connection_pool=pool,  # type: ignore[arg-type]
        )
        return cls(storage, pool=pool)

    async def reserve(self, item: RateLimitItem, *key: str) -> bool:
        """Count one attempt on `key`; False when that went past `item`'s limit."""
        return await self._call("hit", self._strategy.hit, item, *key)

    async def is_marked(self, item: RateLimitItem, *key: str) -> bool:
        """Whether `key` used up its window of `item` (a marker: a limit of 1, hit once)."""
        return not await self._call("test", self._strategy.test, item, *key)

    async def mark(self, item: RateLimitItem, *key: str) -> None:
        await self._call("hit", self._strategy.hit, item, *key)

    async def clear(self, item: RateLimitItem, *key: str) -> None:
        await self._call("clear", self._strategy.clear, item, *key)

    async def retry_after(self, item: RateLimitItem, *key: str) -> int:
        """Whole seconds until `key`'s window of `item` closes (RFC 9110 §10.2.3), at least 1;
        the window's length when the storage cannot say."""
        try:
            stats = await self._call("stats", self._strategy.get_window_stats, item, *key)
        except StoreDown:
            return item.get_expiry()
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def close(self) -> None:
        if self._pool is not None:
            try:
                await self._pool.aclose()
            except Exception as exc:
                log.warning("closing the rate-limit store failed: %s", type(exc).__name__)

    async def _call(
        self,
        operation: str,
        call: Callable[..., Awaitable[T]],
        item: RateLimitItem,
        *key: str,
    ) -> T:
        if time.monotonic() < self._down_until:
            raise StoreDown
        try:
            return await call(item, *key)
        except Exception as exc:
            self._down_until = time.monotonic() + self._cooldown
            log.warning(
                "rate-limit store %s failed (%s: %s): requests are not limited for the next %gs",
                operation,
                type(exc).__name__,
                exc,
                self._cooldown,
            )
            raise StoreDown from None
