"""Counters in Redis, shared by every worker and replica (`REDIS_URL`)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from app.ratelimit.limiter import EMPTY, Usage

KEY_PREFIX = "fittrackee-oauth2:ratelimit:"

# INCR and the window's expiry in one atomic step: two workers hitting a fresh key at once
# still open one window, and a key can never be left without an expiry. The TTL is checked
# rather than set on count == 1 so that a key which somehow lost its TTL heals itself.
HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class RedisBackend:
    """Fixed windows as Redis keys that expire when the window closes.

    Timeouts are short and there are no client-side retries: a Redis that is slow or down
    must cost a request milliseconds, not seconds (`RateLimiter` then fails open).
    """

    def __init__(self, client: Redis, prefix: str = KEY_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._hit = client.register_script(HIT_SCRIPT)

    @classmethod
    def from_url(cls, url: str, timeout: float = 0.25, prefix: str = KEY_PREFIX) -> RedisBackend:
        client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=30,
        )
        return cls(client, prefix)

    async def hit(self, key: str, window: int) -> Usage:
        count, ttl_ms = await self._hit(keys=[self.prefix + key], args=[window * 1000])
        return Usage(int(count), _seconds(int(ttl_ms)))

    async def usage(self, key: str) -> Usage:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.get(self.prefix + key)
            pipe.pttl(self.prefix + key)
            count, ttl_ms = await pipe.execute()
        if count is None or ttl_ms <= 0:
            return EMPTY
        return Usage(int(count), _seconds(int(ttl_ms)))

    async def reset(self, key: str) -> None:
        await self.client.delete(self.prefix + key)

    async def close(self) -> None:
        await self.client.aclose()


def _seconds(ttl_ms: int) -> int:
    return max(1, -(-ttl_ms // 1000))
