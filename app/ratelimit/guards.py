"""Brute-force limits on the endpoints that check a secret: the keys and the policies.

Every attempt is counted *before* its secret is checked: it reserves a slot with an atomic
`hit` on each key that applies, and a key that refuses ends the attempt with `RateLimited`
(429) without any check. N parallel attempts on one key therefore check at most its limit,
whatever N, on one worker or many sharing Redis.

The keys, for logins (identity: the e-mail) and client authentication (identity: client_id):
- per (identity, IP): every attempt, cleared by a success. What is left is the failures since
  the last success (and the attempts in flight): the guessing budget of one source. Once the
  pair is trusted, clients get a higher ceiling (`trusted_failures`): each request of a busy
  client holds a slot until its check ends, and many may be in flight at once.
- trusted (identity, IP): a marker set by a success, kept `trusted.window` seconds. A trusted
  pair skips the shared keys below, so whoever logged in (or a client that authenticated)
  from an address before is never refused because of failures from elsewhere, and a busy
  client or an office behind one NAT never drains them.
- per IP (untrusted pairs only): one source trying many accounts or invented client_ids.
- per identity, all IPs (logins only, untrusted pairs only): distributed guessing on one
  account, with a short window, so the owner on a brand-new address waits at most that long
  once the guessing stops.
Registrations count every attempt per IP.

An untrusted attempt reserves per IP, then per (identity, IP), then per identity: what a source
is refused on its own keys never reaches the identity's shared budget, so one address alone
cannot lock an account for everyone (it takes `per_identity.limit / failures.limit` of them).

Memory stays bounded without ever resetting an active limit: (identity, IP) and identity keys
are created only after that IP's reservation succeeded, so one IP (IPv6: one /64) creates at
most twice its per-IP limit of keys per window, and markers come only from successes. Every
key expires when its window closes.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from limits import RateLimitItem, RateLimitItemPerSecond

from app.config import Settings
from app.observability.metrics import record_rate_limited
from app.ratelimit.counters import Counters, StoreDown


class Surface(StrEnum):
    """Which error shape a refusal takes: FitTrackee's (`{"status", "message"}`) on the
    account endpoints, RFC 6749's (`{"error", ...}`) on the OAuth2 ones."""

    ACCOUNT = "account"
    OAUTH = "oauth"


class RateLimited(Exception):
    """A key refused the attempt: answer 429 with `Retry-After` (RFC 6585 §4)."""

    def __init__(self, retry_after: int, rule: str, surface: Surface) -> None:
        super().__init__(f"rate limited by {rule}: retry after {retry_after}s")
        self.retry_after = retry_after
        self.rule = rule
        self.surface = surface


@dataclass(frozen=True, slots=True)
class Rule:
    """At most `limit` hits per `window` seconds; `name` labels the key and the 429 metric."""

    name: str
    limit: int
    window: int
    item: RateLimitItem = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window < 1:
            raise ValueError(f"rate limit {self.name}: limit and window must be at least 1")
        item = RateLimitItemPerSecond(self.limit, self.window, namespace=self.name)
        object.__setattr__(self, "item", item)


@dataclass(frozen=True, slots=True)
class Policy:
    """The keys of one kind of secret (see the module docstring)."""

    surface: Surface
    failures: Rule  # per (identity, IP), before a success from there
    trusted_failures: Rule  # per (identity, IP), once trusted
    trusted: Rule  # the marker: limit 1, window = how long trust lasts
    per_ip: Rule
    per_identity: Rule | None = None


class Attempt:
    """One attempt at a secret, its slots reserved. The caller says `succeeded()` once the
    secret matched; anything else leaves the attempt counted as a failure."""

    __slots__ = ("ok",)

    def __init__(self) -> None:
        self.ok = False

    def succeeded(self) -> None:
        self.ok = True


class AuthRateLimits:
    """The limits of logins, client authentication and registrations (None: turned off)."""

    def __init__(
        self,
        counters: Counters | None,
        *,
        login: Policy,
        client: Policy,
        registrations: Rule,
    ) -> None:
        self.counters = counters
        self.login = login
        self.client = client
        self.registrations = registrations

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthRateLimits:
        """Redis when `REDIS_URL` is set (shared by every worker and replica), else memory."""
        counters = None
        if settings.rate_limits_on:
            if settings.redis_url:
                counters = Counters.in_redis(settings.redis_url, settings.redis_key_prefix)
            else:
                counters = Counters.in_memory()
        login_window = settings.rate_limit_login_window
        client_window = settings.rate_limit_client_window
        login_failures = Rule("login-account-ip", settings.rate_limit_login_failures, login_window)
        return cls(
            counters,
            login=Policy(
                surface=Surface.ACCOUNT,
                failures=login_failures,
                trusted_failures=login_failures,
                trusted=Rule("login-trusted", 1, settings.rate_limit_trusted_for),
                per_ip=Rule("login-ip", settings.rate_limit_login_per_ip, login_window),
                per_identity=Rule(
                    "login-account",
                    settings.rate_limit_login_per_account,
                    settings.rate_limit_login_account_window,
                ),
            ),
            client=Policy(
                surface=Surface.OAUTH,
                failures=Rule("client-id-ip", settings.rate_limit_client_failures, client_window),
                trusted_failures=Rule(
                    "client-id-ip-trusted",
                    settings.rate_limit_client_trusted_failures,
                    client_window,
                ),
                trusted=Rule("client-trusted", 1, settings.rate_limit_trusted_for),
                per_ip=Rule("client-ip", settings.rate_limit_client_per_ip, client_window),
            ),
            registrations=Rule(
                "register-ip",
                settings.rate_limit_registrations_per_ip,
                settings.rate_limit_registration_window,
            ),
        )

    @property
    def enabled(self) -> bool:
        return self.counters is not None

    async def close(self) -> None:
        if self.counters is not None:
            await self.counters.close()

    def login_attempt(self, ip: str, email: str) -> AbstractAsyncContextManager[Attempt]:
        """`POST /api/auth/login`: reserve, then the caller checks the password."""
        return self._attempt(self.login, ip_key(ip), account_key(email))

    def client_attempt(self, ip: str, client_id: str) -> AbstractAsyncContextManager[Attempt]:
        """`/token`, `/revoke`, `/introspect`: reserve, then the client secret is checked
        (RFC 6749 §2.3.1 asks for protection against brute force on it)."""
        return self._attempt(self.client, ip_key(ip), client_key(client_id))

    async def guard_registration(self, ip: str) -> None:
        """Counts this registration attempt; RateLimited past the IP's limit."""
        if self.counters is None:
            return
        try:
            await self._take(self.registrations, Surface.ACCOUNT, ip_key(ip))
        except StoreDown:
            return

    @asynccontextmanager
    async def _attempt(self, policy: Policy, ip: str, identity: str) -> AsyncIterator[Attempt]:
        attempt = Attempt()
        if self.counters is None:
            yield attempt
            return
        try:
            trusted = await self._reserve(policy, ip, identity)
        except StoreDown:
            yield attempt
            return
        try:
            yield attempt
        finally:
            if attempt.ok:
                await self._succeeded(policy, ip, identity, trusted)

    async def _reserve(self, policy: Policy, ip: str, identity: str) -> bool:
        """Take a slot on every key that applies; whether the pair was trusted.

        Per IP first, so that no key is made for an IP past its limit; then the pair, so that
        what one source is refused there does not use up the identity's shared budget.
        """
        assert self.counters is not None
        trusted = await self.counters.is_marked(policy.trusted.item, identity, ip)
        if trusted:
            await self._take(policy.trusted_failures, policy.surface, identity, ip)
            return True
        await self._take(policy.per_ip, policy.surface, ip)
        await self._take(policy.failures, policy.surface, identity, ip)
        if policy.per_identity is not None:
            await self._take(policy.per_identity, policy.surface, identity)
        return False

    async def _succeeded(self, policy: Policy, ip: str, identity: str, trusted: bool) -> None:
        """The secret matched: the pair's failures are forgotten, and the pair trusted."""
        assert self.counters is not None
        try:
            if trusted:
                await self.counters.clear(policy.trusted_failures.item, identity, ip)
            else:
                await self.counters.clear(policy.failures.item, identity, ip)
                await self.counters.mark(policy.trusted.item, identity, ip)
        except StoreDown:
            pass

    async def _take(self, rule: Rule, surface: Surface, *key: str) -> None:
        assert self.counters is not None
        if await self.counters.reserve(rule.item, *key):
            return
        retry_after = await self.counters.retry_after(rule.item, *key)
        record_rate_limited(rule.name)
        raise RateLimited(retry_after, rule.name, surface)


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
