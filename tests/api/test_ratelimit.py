"""Brute-force limits: the counters (memory and a real Redis), failing open, and the 429s
on login and registration."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from app import clock
from app.config import Settings
from app.main import create_app
from app.oauth.errors import InvalidClient
from app.observability.metrics import REGISTRY
from app.ratelimit import AuthRateLimits, MemoryBackend, RateLimited, RateLimiter, Usage
from app.ratelimit.guards import account_key, ip_key, rate_limits_enabled
from app.ratelimit.redis_backend import RedisBackend
from tests.helpers import (
    PASSWORD,
    issue_tokens,
    refresh_tokens,
    register,
    revoke_request,
    token_request,
    user_token,
)
from tests.helpers import create_app as create_oauth_app

REDIS_URL = "redis://127.0.0.1:6379/15"
TOO_MANY = {"status": "error", "message": "too many requests, retry later"}


# --- the memory backend -------------------------------------------------------------------


async def test_hits_are_allowed_up_to_the_limit_then_refused_until_the_window_closes():
    limiter = RateLimiter(MemoryBackend())
    verdicts = [await limiter.hit("login-ip:10.0.0.1", 3, 60) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.count for v in verdicts] == [1, 2, 3, 4]
    assert verdicts[-1].retry_after == 60
    clock.advance(45)
    assert (await limiter.check("login-ip:10.0.0.1", 3)).retry_after == 15
    clock.advance(15)
    fresh = await limiter.hit("login-ip:10.0.0.1", 3, 60)
    assert (fresh.allowed, fresh.count, fresh.retry_after) == (True, 1, 60)


async def test_check_counts_nothing_and_reset_forgets_the_key():
    limiter = RateLimiter(MemoryBackend())
    assert (await limiter.check("k", 2)).allowed
    await limiter.hit("k", 2, 60)
    assert (await limiter.check("k", 2)).allowed
    assert (await limiter.check("k", 2)).count == 1
    await limiter.hit("k", 2, 60)
    refused = await limiter.check("k", 2)
    assert (refused.allowed, refused.count) == (False, 2)
    await limiter.reset("k")
    assert (await limiter.check("k", 2)).count == 0


async def test_keys_are_independent():
    limiter = RateLimiter(MemoryBackend())
    await limiter.hit("a", 1, 60)
    assert not (await limiter.check("a", 1)).allowed
    assert (await limiter.check("b", 1)).allowed


async def test_memory_stays_bounded_under_a_flood_of_keys():
    backend = MemoryBackend(max_keys=100)
    for i in range(1000):
        await backend.hit(f"login-ip:{i}", 60)
    assert len(backend) <= 100
    assert (await backend.usage("login-ip:999")).count == 1  # the newest keys are kept


class BrokenBackend:
    def __init__(self) -> None:
        self.calls = 0

    async def _fail(self, *_: Any) -> Usage:
        self.calls += 1
        raise ConnectionError("backend unreachable")

    hit = usage = reset = _fail

    async def close(self) -> None:
        pass


async def test_a_failing_backend_fails_open_with_a_warning_and_is_left_alone_for_a_while(
    caplog: pytest.LogCaptureFixture,
):
    backend = BrokenBackend()
    limiter = RateLimiter(backend, cooldown=60)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="app.ratelimit.limiter"):
        verdicts = [await limiter.hit("k", 1, 60) for _ in range(5)]
        verdicts.append(await limiter.check("k", 1))
    assert all(v.allowed for v in verdicts)
    assert backend.calls == 1  # the cooldown spares the broken backend
    assert len(caplog.records) == 1
    assert "not limited" in caplog.records[0].getMessage()


async def test_a_failing_backend_is_tried_again_after_the_cooldown():
    backend = BrokenBackend()
    limiter = RateLimiter(backend, cooldown=0)  # type: ignore[arg-type]
    for _ in range(3):
        assert (await limiter.hit("k", 1, 60)).allowed
    assert backend.calls == 3


# --- the Redis backend, against the real Redis (database 15) ------------------------------


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own (several test runs may share the Redis); its keys are
    deleted afterwards. Skips when no Redis answers."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}): start it to test")
    prefix = f"test-{secrets.token_hex(6)}:"
    yield prefix
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_redis_counts_expires_and_resets(redis_prefix: str):
    backend = RedisBackend.from_url(REDIS_URL, prefix=redis_prefix)
    limiter = RateLimiter(backend)
    try:
        verdicts = [await limiter.hit("login-ip:10.0.0.1", 2, 30) for _ in range(3)]
        assert [v.allowed for v in verdicts] == [True, True, False]
        assert [v.count for v in verdicts] == [1, 2, 3]
        assert 29 <= verdicts[-1].retry_after <= 30
        ttl = await backend.client.pttl(f"{redis_prefix}login-ip:10.0.0.1")
        assert 0 < ttl <= 30_000  # the window is the key's expiry
        assert not (await limiter.check("login-ip:10.0.0.1", 2)).allowed
        assert (await limiter.check("other", 2)).count == 0
        await limiter.reset("login-ip:10.0.0.1")
        assert (await limiter.check("login-ip:10.0.0.1", 2)).count == 0
    finally:
        await limiter.close()


async def test_redis_window_closes_after_its_seconds(redis_prefix: str):
    limiter = RateLimiter(RedisBackend.from_url(REDIS_URL, prefix=redis_prefix))
    try:
        await limiter.hit("k", 1, 1)
        assert not (await limiter.check("k", 1)).allowed
        await asyncio.sleep(1.1)
        assert (await limiter.check("k", 1)).allowed
        assert (await limiter.hit("k", 1, 1)).count == 1
    finally:
        await limiter.close()


async def test_redis_counts_are_shared_and_atomic_across_workers(redis_prefix: str):
    """Two clients stand for two workers; concurrent hits never lose a count."""
    workers = [RedisBackend.from_url(REDIS_URL, prefix=redis_prefix) for _ in range(2)]
    try:
        usages = await asyncio.gather(*(workers[i % 2].hit("client:abc", 60) for i in range(40)))
        assert sorted(u.count for u in usages) == list(range(1, 41))
        assert (await workers[0].usage("client:abc")).count == 40
        assert (await workers[1].usage("client:abc")).count == 40
    finally:
        for worker in workers:
            await worker.close()


async def test_an_unreachable_redis_fails_open(caplog: pytest.LogCaptureFixture):
    limiter = RateLimiter(RedisBackend.from_url("redis://127.0.0.1:1/15"))
    try:
        with caplog.at_level(logging.WARNING, logger="app.ratelimit.limiter"):
            verdict = await limiter.hit("login-ip:10.0.0.1", 1, 60)
            second = await limiter.hit("login-ip:10.0.0.1", 1, 60)
    finally:
        await limiter.close()
    assert verdict.allowed and second.allowed
    assert any("rate limiter hit failed" in r.getMessage() for r in caplog.records)


def test_redis_url_selects_the_redis_backend(settings: Settings):
    limits = AuthRateLimits.from_settings(
        settings.model_copy(update={"rate_limits_enabled": True, "redis_url": REDIS_URL})
    )
    assert limits.limiter is not None
    assert isinstance(limits.limiter.backend, RedisBackend)
    memory = AuthRateLimits.from_settings(settings.model_copy(update={"rate_limits_enabled": True}))
    assert memory.limiter is not None
    assert isinstance(memory.limiter.backend, MemoryBackend)


# --- settings ------------------------------------------------------------------------------


def test_limits_are_on_by_default_except_in_tests_and_the_setting_decides(settings: Settings):
    assert rate_limits_enabled(Settings(app_env="development"))
    assert rate_limits_enabled(Settings(app_env="production", secret_key="k" * 40))
    assert not rate_limits_enabled(settings)  # APP_ENV=test, RATE_LIMITS_ENABLED unset
    assert rate_limits_enabled(settings.model_copy(update={"rate_limits_enabled": True}))
    assert not rate_limits_enabled(
        Settings(app_env="production", secret_key="k" * 40, rate_limits_enabled=False)
    )
    assert not AuthRateLimits.from_settings(settings).enabled


def test_limits_and_windows_must_be_positive(settings: Settings):
    with pytest.raises(ValueError, match="at least 1"):
        AuthRateLimits.from_settings(
            settings.model_copy(update={"rate_limits_enabled": True, "rate_limit_login_window": 0})
        )


def test_keys_group_ipv6_per_64_and_emails_as_login_does():
    assert ip_key("2001:db8:1:2:aaaa::1") == ip_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert ip_key("2001:db8:1:3::1") != ip_key("2001:db8:1:2::1")
    assert ip_key("::ffff:192.0.2.7") == ip_key("192.0.2.7") == "192.0.2.7"
    assert ip_key("unknown") == "unknown"
    assert account_key(" Alice@Example.com ") == account_key("alice@example.com")
    assert "alice" not in account_key("alice@example.com")  # no addresses in Redis


# --- over HTTP ---------------------------------------------------------------------------

Limited = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def limited(app: FastAPI, settings: Settings) -> Limited:
    """A client on an app with the limits on (small ones by default). Asking for `app`
    gives this test empty tables too."""

    @asynccontextmanager
    async def build(
        limits: AuthRateLimits | None = None, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        values = {
            "rate_limits_enabled": True,
            "rate_limit_login_per_account": 3,
            "rate_limit_login_per_ip": 5,
            "rate_limit_login_window": 900,
            "rate_limit_registrations_per_ip": 2,
            "rate_limit_registration_window": 3600,
            "access_log": False,
            **overrides,
        }
        application = create_app(settings.model_copy(update=values))
        if limits is not None:
            application.state.rate_limits = limits
        transport = httpx.ASGITransport(app=application)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c
        finally:
            await application.state.services.db.dispose()
            await application.state.rate_limits.close()

    return build


async def login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/auth/login", json={"email": email, "password": password})


async def test_failed_logins_lock_the_account_with_429_and_retry_after(limited: Limited):
    async with limited() as http:
        await register(http, "alice")
        for _ in range(3):
            assert (await login(http, "alice@example.com", "wrong-password")).status_code == 401
        refused = await login(http, "alice@example.com", "wrong-password")
        assert refused.status_code == 429
        assert refused.json() == TOO_MANY
        assert refused.headers["retry-after"] == "900"
        # good credentials too: otherwise the limit would not stop the guessing
        assert (await login(http, "ALICE@example.com", PASSWORD)).status_code == 429
        clock.advance(900)
        assert (await login(http, "alice@example.com", PASSWORD)).status_code == 200


async def test_a_successful_login_clears_the_account_failures(limited: Limited):
    async with limited() as http:
        await register(http, "alice")
        for _ in range(2):
            assert (await login(http, "alice@example.com", "wrong-password")).status_code == 401
        assert (await login(http, "alice@example.com", PASSWORD)).status_code == 200
        for _ in range(2):
            assert (await login(http, "alice@example.com", "wrong-password")).status_code == 401
        assert (await login(http, "alice@example.com", PASSWORD)).status_code == 200


async def test_failed_logins_from_one_ip_lock_that_ip_for_every_account(limited: Limited):
    async with limited() as http:
        await register(http, "alice")
        for i in range(5):
            response = await login(http, f"nobody{i}@example.com", "wrong-password")
            assert response.status_code == 401
        refused = await login(http, "alice@example.com", PASSWORD)
    assert refused.status_code == 429
    assert refused.json() == TOO_MANY
    assert 1 <= int(refused.headers["retry-after"]) <= 900


async def test_successful_logins_are_never_throttled(limited: Limited):
    async with limited() as http:
        await register(http, "alice")
        for _ in range(12):  # well past every limit
            assert (await login(http, "alice@example.com", PASSWORD)).status_code == 200


async def test_registrations_are_counted_per_ip(limited: Limited):
    async with limited() as http:
        await register(http, "alice")
        refused_payload = {
            "username": "x",
            "email": "bad",
            "password": "p",
            "accepted_policy": True,
        }
        assert (await http.post("/api/auth/register", json=refused_payload)).status_code == 400
        third = await http.post(
            "/api/auth/register",
            json={
                "username": "bob",
                "email": "bob@example.com",
                "password": PASSWORD,
                "accepted_policy": True,
            },
        )
        assert third.status_code == 429
        assert third.json() == TOO_MANY
        assert third.headers["retry-after"] == "3600"
        # bob was not created: the limit answered before anything else
        assert (await login(http, "bob@example.com", PASSWORD)).status_code == 401


async def test_rate_limits_enabled_false_turns_every_limit_off(limited: Limited):
    async with limited(rate_limits_enabled=False) as http:
        for name in ("alice", "bob", "carol", "dave"):
            await register(http, name)
        for _ in range(8):
            assert (await login(http, "alice@example.com", "wrong-password")).status_code == 401
        assert (await login(http, "alice@example.com", PASSWORD)).status_code == 200


async def test_429s_are_counted_in_the_metrics(limited: Limited):
    before = REGISTRY.get_sample_value("rate_limited_requests_total", {"rule": "login-account"})
    async with limited() as http:
        await register(http, "alice")
        for _ in range(5):
            await login(http, "alice@example.com", "wrong-password")
    after = REGISTRY.get_sample_value("rate_limited_requests_total", {"rule": "login-account"})
    assert after - (before or 0) == 2


async def test_workers_sharing_redis_share_the_failure_count(
    limited: Limited, settings: Settings, redis_prefix: str
):
    """Failures seen by one worker lock the account on the other (one Redis, two apps)."""

    def shared_limits() -> AuthRateLimits:
        base = AuthRateLimits.from_settings(
            settings.model_copy(
                update={"rate_limits_enabled": True, "rate_limit_login_per_account": 3}
            )
        )
        base.limiter = RateLimiter(RedisBackend.from_url(REDIS_URL, prefix=redis_prefix))
        return base

    async with limited(shared_limits()) as first, limited(shared_limits()) as second:
        await register(first, "alice")
        assert (await login(first, "alice@example.com", "wrong-password")).status_code == 401
        assert (await login(second, "alice@example.com", "wrong-password")).status_code == 401
        assert (await login(first, "alice@example.com", "wrong-password")).status_code == 401
        refused = await login(second, "alice@example.com", PASSWORD)
    assert refused.status_code == 429
    assert refused.json() == TOO_MANY
    assert 890 <= int(refused.headers["retry-after"]) <= 900


# --- client authentication (the calls /token, /revoke and /introspect make) --------------


def client_limits(settings: Settings, limit: int = 3) -> AuthRateLimits:
    return AuthRateLimits.from_settings(
        settings.model_copy(
            update={"rate_limits_enabled": True, "rate_limit_client_failures": limit}
        )
    )


async def test_failed_client_authentications_lock_that_client_id(settings: Settings):
    limits = client_limits(settings)
    for _ in range(3):
        with pytest.raises(InvalidClient):
            async with limits.client_attempt("client-a"):
                raise InvalidClient()
    with pytest.raises(RateLimited) as refused:
        async with limits.client_attempt("client-a"):
            pytest.fail("the secret must not even be checked once the client is locked")
    assert refused.value.status_code == 429
    assert refused.value.text == "too many requests, retry later"
    assert refused.value.headers == {"Retry-After": "900"}
    await limits.guard_client("client-b")  # other clients are not affected


async def test_successful_client_authentications_are_never_counted(settings: Settings):
    limits = client_limits(settings, limit=1)
    for _ in range(50):
        async with limits.client_attempt("busy-client"):
            pass  # authenticated: a token issued
    await limits.guard_client("busy-client")
    # an error other than invalid_client (a bad grant, say) is not a failed authentication
    with pytest.raises(ValueError):
        async with limits.client_attempt("busy-client"):
            raise ValueError("invalid_grant")
    await limits.guard_client("busy-client")


async def test_explicit_client_calls(settings: Settings):
    limits = client_limits(settings, limit=2)
    await limits.guard_client("c")
    await limits.record_client_failure("c")
    await limits.guard_client("c")
    await limits.record_client_failure("c")
    with pytest.raises(RateLimited):
        await limits.guard_client("c")


async def test_token_and_revoke_lock_a_client_id_after_failed_authentications(limited: Limited):
    async with limited(rate_limit_client_failures=3) as http:
        token = await user_token(http, "owner")
        oauth_app = await create_oauth_app(http, token)
        wrong = {**oauth_app, "client_secret": "x" * 48}
        for _ in range(3):
            refused = await token_request(
                http, wrong, grant_type="refresh_token", refresh_token="r"
            )
            assert refused.status_code == 401
            assert refused.json()["error"] == "invalid_client"
        # Past the limit, even the right secret is refused, at /token and /revoke alike.
        locked = await token_request(http, oauth_app, grant_type="refresh_token", refresh_token="r")
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
        assert locked.json() == {"status": "error", "message": "too many requests, retry later"}
        assert (await revoke_request(http, oauth_app, basic=True, token="t")).status_code == 429
        # Another client is not affected.
        other = await create_oauth_app(http, token)
        tokens = await issue_tokens(http, token, other)
        assert (await refresh_tokens(http, other, tokens["refresh_token"])).status_code == 200


async def test_token_requests_of_a_good_client_are_never_throttled(limited: Limited):
    async with limited(rate_limit_client_failures=2) as http:
        token = await user_token(http, "busy")
        oauth_app = await create_oauth_app(http, token)
        tokens = await issue_tokens(http, token, oauth_app)
        for _ in range(6):
            response = await refresh_tokens(http, oauth_app, tokens["refresh_token"])
            assert response.status_code == 200, response.text
            tokens = response.json()
