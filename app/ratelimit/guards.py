"""Brute-force limits on the endpoints that check a secret, as calls a router makes.

What is counted (the keys):
- `login-account:<hash of e-mail>` and `login-ip:<ip>`: failed logins only; a successful
  login clears the account's count (never the IP's: an attacker's own good logins must not
  buy more guesses);
- `register-ip:<ip>`: every registration attempt that reaches the handler;
- `client:<hash of client_id>`: failed client authentications at `/token`, `/revoke` and
  `/introspect` (RFC 6749 §2.3.1 asks for protection against brute force on client secrets).

Only failures are counted for logins and clients, so legitimate traffic, however busy, is
never throttled. Once a count reaches its limit, every attempt on that key is refused with
429 and `Retry-After` (RFC 6585 §4) until the window closes, good credentials included:
otherwise the limit would not stop guessing.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.requests import Request

from app.accounts.service import AccountError
from app.api.errors import ApiError
from app.config import Settings
from app.oauth.errors import InvalidClient
from app.observability.metrics import record_rate_limited
from app.ratelimit.limiter import MemoryBackend, RateLimiter, Verdict
from app.ratelimit.redis_backend import RedisBackend

TOO_MANY_REQUESTS = "too many requests, retry later"


class RateLimited(ApiError):
    """429 `{"status": "error", "message": "too many requests, retry later"}`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(TOO_MANY_REQUESTS, 429, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Rule:
    """At most `limit` events per `window` seconds; `name` labels the 429 metric."""

    name: str
    limit: int
    window: int

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window < 1:
            raise ValueError(f"rate limit {self.name}: limit and window must be at least 1")


class AuthRateLimits:
    """The four limits of issue 6, over one `RateLimiter` (None: limits turned off)."""

    def __init__(
        self,
        limiter: RateLimiter | None,
        *,
        login_per_account: Rule,
        login_per_ip: Rule,
        registrations_per_ip: Rule,
        client_failures: Rule,
    ) -> None:
        self.limiter = limiter
        self.login_per_account = login_per_account
        self.login_per_ip = login_per_ip
        self.registrations_per_ip = registrations_per_ip
        self.client_failures = client_failures

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthRateLimits:
        """Redis when `REDIS_URL` is set (shared by every worker and replica), else memory."""
        limiter = None
        if rate_limits_enabled(settings):
            if settings.redis_url:
                limiter = RateLimiter(RedisBackend.from_url(settings.redis_url))
            else:
                limiter = RateLimiter(MemoryBackend())
        return cls(
            limiter,
            login_per_account=Rule(
                "login-account",
                settings.rate_limit_login_per_account,
                settings.rate_limit_login_window,
            ),
            login_per_ip=Rule(
                "login-ip", settings.rate_limit_login_per_ip, settings.rate_limit_login_window
            ),
            registrations_per_ip=Rule(
                "register-ip",
                settings.rate_limit_registrations_per_ip,
                settings.rate_limit_registration_window,
            ),
            client_failures=Rule(
                "client",
                settings.rate_limit_client_failures,
                settings.rate_limit_client_window,
            ),
        )

    @property
    def enabled(self) -> bool:
        return self.limiter is not None

    async def close(self) -> None:
        if self.limiter is not None:
            await self.limiter.close()

    # --- logins (POST /api/auth/login) ---

    async def guard_login(self, ip: str, email: str) -> None:
        """Before checking the password: 429 once the account or the IP has too many failures."""
        if self.limiter is None:
            return
        await self._refuse_if_over(
            (self.login_per_account, account_key(email)), (self.login_per_ip, ip_key(ip))
        )

    async def record_login_failure(self, ip: str, email: str) -> None:
        if self.limiter is None:
            return
        rule = self.login_per_account
        await self.limiter.hit(f"{rule.name}:{account_key(email)}", rule.limit, rule.window)
        rule = self.login_per_ip
        await self.limiter.hit(f"{rule.name}:{ip_key(ip)}", rule.limit, rule.window)

    async def record_login_success(self, email: str) -> None:
        if self.limiter is None:
            return
        await self.limiter.reset(f"{self.login_per_account.name}:{account_key(email)}")

    @asynccontextmanager
    async def login_attempt(self, ip: str, email: str) -> AsyncIterator[None]:
        """Guard, then count a 401 `AccountError` as a failure, or clear the account's count."""
        await self.guard_login(ip, email)
        try:
            yield
        except AccountError as exc:
            if exc.status_code == 401:
                await self.record_login_failure(ip, email)
            raise
        await self.record_login_success(email)

    # --- registrations (POST /api/auth/register) ---

    async def guard_registration(self, ip: str) -> None:
        """Counts this registration attempt; 429 past the IP's limit."""
        if self.limiter is None:
            return
        rule = self.registrations_per_ip
        verdict = await self.limiter.hit(f"{rule.name}:{ip_key(ip)}", rule.limit, rule.window)
        if not verdict.allowed:
            raise _refusal(rule, verdict)

    # --- client authentication (POST /api/oauth/token, /revoke, /introspect) ---

    async def guard_client(self, client_id: str) -> None:
        """Before checking the client secret: 429 once `client_id` has too many failures."""
        if self.limiter is None:
            return
        await self._refuse_if_over((self.client_failures, client_key(client_id)))

    async def record_client_failure(self, client_id: str) -> None:
        if self.limiter is None:
            return
        rule = self.client_failures
        await self.limiter.hit(f"{rule.name}:{client_key(client_id)}", rule.limit, rule.window)

    @asynccontextmanager
    async def client_attempt(self, client_id: str) -> AsyncIterator[None]:
        """Guard, then count an `InvalidClient` (RFC 6749 §5.2) raised inside as a failure."""
        await self.guard_client(client_id)
        try:
            yield
        except InvalidClient:
            await self.record_client_failure(client_id)
            raise

    async def _refuse_if_over(self, *checks: tuple[Rule, str]) -> None:
        assert self.limiter is not None
        for rule, subject in checks:
            verdict = await self.limiter.check(f"{rule.name}:{subject}", rule.limit)
            if not verdict.allowed:
                raise _refusal(rule, verdict)


def _refusal(rule: Rule, verdict: Verdict) -> RateLimited:
    record_rate_limited(rule.name)
    return RateLimited(max(1, verdict.retry_after))


def rate_limits_enabled(settings: Settings) -> bool:
    """`RATE_LIMITS_ENABLED` when set; unset, on everywhere but `APP_ENV=test`."""
    if settings.rate_limits_enabled is None:
        return settings.app_env != "test"
    return settings.rate_limits_enabled


def rate_limits(request: Request) -> AuthRateLimits:
    """The app's limits (FastAPI dependency or plain call); off when the app has none."""
    limits = getattr(request.app.state, "rate_limits", None)
    return limits if limits is not None else DISABLED


def client_ip(request: Request) -> str:
    """The peer address; behind a proxy, uvicorn's `--proxy-headers` puts the client's here."""
    return request.client.host if request.client else "unknown"


def ip_key(ip: str) -> str:
    """IPv6 clients are counted per /64, the block one subscriber usually holds."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def account_key(email: str) -> str:
    """The e-mail as login normalises it, hashed: no addresses in Redis, bounded key size."""
    return _digest(email.strip().lower())


def client_key(client_id: str) -> str:
    return _digest(client_id)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


_OFF = Rule("off", 1, 1)
DISABLED = AuthRateLimits(
    None, login_per_account=_OFF, login_per_ip=_OFF, registrations_per_ip=_OFF, client_failures=_OFF
)
