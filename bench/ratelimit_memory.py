"""The rate limits' memory storage against `limits`' own: the cost of one counted attempt
(`FixedWindowRateLimiter.hit` on a fresh key) with N keys held, the event-loop time of any
background sweep included. Run by hand: `.venv/bin/python -m bench.ratelimit_memory`."""

import asyncio
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import FixedWindowRateLimiter

from app.ratelimit.memory import ExpiringMemoryStorage


async def cost(storage: MemoryStorage | ExpiringMemoryStorage, n: int) -> float:
    limiter = FixedWindowRateLimiter(storage)
    item = RateLimitItemPerSecond(10, 900)
    for i in range(n):
        await limiter.hit(item, f"k{i}")
    await asyncio.sleep(0.2)
    t = time.perf_counter()
    for i in range(500):
        await limiter.hit(item, f"x{i}")
        await asyncio.sleep(0)  # let a sweep task run, as between two requests
    await asyncio.sleep(0)
    return (time.perf_counter() - t) / 500 * 1e6


async def main() -> None:
    for n in (1_000, 10_000, 100_000):
        a = await cost(MemoryStorage(), n)
        b = await cost(ExpiringMemoryStorage(), n)
        print(f"{n:>7} keys: limits' MemoryStorage {a:9.1f} µs/hit, ours {b:6.1f} µs/hit")


if __name__ == "__main__":
    asyncio.run(main())
