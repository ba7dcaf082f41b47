"""argon2 password hashing through passlib (the `libpass` distribution).

Hashing is CPU-bound and slow on purpose, so it runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio

from passlib.context import CryptContext

from app.config import Settings


class PasswordHasher:
    def __init__(self, settings: Settings) -> None:
        options: dict[str, int] = {}
        if settings.argon2_rounds:
            options["argon2__rounds"] = settings.argon2_rounds
        if settings.argon2_memory_cost:
            options["argon2__memory_cost"] = settings.argon2_memory_cost
        self._context = CryptContext(schemes=["argon2"], deprecated="auto", **options)
        # Verified against when the e-mail is unknown, so both answers take as long.
        self._dummy = self._context.hash("not a real password")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._context.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        target = password_hash or self._dummy
        ok = await asyncio.to_thread(self._context.verify, password, target)
        return ok and password_hash is not None
