"""Brute-force limits: the counters (memory and a real Redis), counted before the check, the
keys and trust, failing open, and the 429s over HTTP (several client IPs in-process)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from limits.aio.strategies import FixedWindowRateLimiter
from redis.asyncio import Redis

from app.accounts.passwords import PasswordHasher
from app.config import Settings
from app.main import create_app
from app.observability.metrics import REGISTRY
from app.ratelimit import AuthRateLimits, Counters, RateLimited, Rule, Surface
from app.ratelimit.counters import StoreDown
from app.ratelimit.guards import account_key, client_key, ip_key
from app.ratelimit.memory import COMPACT_SLACK, SWEEP, ExpiringMemoryStorage
from tests.helpers import PASSWORD, issue_tokens, refresh_tokens, register, token_request
from tests.helpers import create_app as create_oauth_app

REDIS_URL = "redis://127.0.0.1:6379/15"
TOO_MANY = {"status": "error", "message": "too many requests, retry later"}
OAUTH_TOO_MANY = {
    "error": "temporarily_unavailable",
    "error_description": "Too many attempts: retry after the number of seconds in Retry-After.",
}


@asynccontextmanager
async def redis_keys() -> AsyncIterator[str]:
    """A key prefix of our own (other test runs share the Redis), its keys deleted
    afterwards. Skips when no Redis answers."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}): start it to test")
    prefix = f"test-{secrets.token_hex(6)}"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    async with redis_keys() as prefix:
        yield prefix


@pytest.fixture(params=["memory", "redis"])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[Counters]:
    """The same contract, on both storages."""
    if request.param == "memory":
        store = Counters.in_memory()
        yield store
        await store.close()
        return
    async with redis_keys() as prefix:
        store = Counters.in_redis(REDIS_URL, prefix)
        yield store
        await store.close()


# --- the counters, on memory and on Redis ---------------------------------------------------


async def test_reservations_are_allowed_up_to_the_limit_then_refused(counters: Counters):
    rule = Rule("t-limit", 3, 60)
    allowed = [await counters.reserve(rule.item, "10.0.0.1") for _ in range(5)]
    assert allowed == [True, True, True, False, False]
    assert 59 <= await counters.retry_after(rule.item, "10.0.0.1") <= 60
    assert await counters.reserve(rule.item, "10.0.0.2")  # keys are independent


async def test_a_window_closes_after_its_seconds(counters: Counters):
    rule = Rule("t-window", 1, 1)
    assert await counters.reserve(rule.item, "k")
    assert not await counters.reserve(rule.item, "k")
    await asyncio.sleep(1.2)
    assert await counters.reserve(rule.item, "k")


async def test_clear_forgets_a_key_and_markers_are_a_hit_limit_of_one(counters: Counters):
    rule = Rule("t-clear", 2, 60)
    marker = Rule("t-marker", 1, 60)
    await counters.reserve(rule.item, "k")
    await counters.reserve(rule.item, "k")
    assert not await counters.reserve(rule.item, "k")
    await counters.clear(rule.item, "k")
    assert await counters.reserve(rule.item, "k")
    assert not await counters.is_marked(marker.item, "a", "b")
    await counters.mark(marker.item, "a", "b")
    assert await counters.is_marked(marker.item, "a", "b")
    assert not await counters.is_marked(marker.item, "a", "c")


async def test_parallel_reservations_get_exactly_the_limit(counters: Counters):
    """Counted before the check, atomically: 200 at once on a limit of 20 give 20."""
    rule = Rule("t-parallel", 20, 60)
    allowed = await asyncio.gather(*(counters.reserve(rule.item, "k") for _ in range(200)))
    assert sum(allowed) == 20


async def test_redis_counts_are_shared_by_workers(redis_prefix: str):
    """Two clients stand for two workers: 100 concurrent reservations, 30 allowed in all."""
    workers = [Counters.in_redis(REDIS_URL, redis_prefix) for _ in range(2)]
    rule = Rule("t-shared", 30, 60)
    try:
        allowed = await asyncio.gather(
            *(workers[i % 2].reserve(rule.item, "client") for i in range(100))
        )
        assert sum(allowed) == 30
        redis = Redis.from_url(REDIS_URL)
        keys = [key async for key in redis.scan_iter(match=f"{redis_prefix}*")]
        ttl = await redis.ttl(keys[0])
        await redis.aclose()
        assert len(keys) == 1 and 0 < ttl <= 60  # the window is the key's expiry
    finally:
        for worker in workers:
            await worker.close()


async def test_an_unreachable_redis_fails_open_warns_once_and_cools_down(
    caplog: pytest.LogCaptureFixture,
):
    counters = Counters.in_redis("redis://127.0.0.1:1/15", "unused")
    rule = Rule("t-down", 1, 60)
    try:
        with caplog.at_level(logging.WARNING, logger="app.ratelimit.counters"):
            for _ in range(3):
                with pytest.raises(StoreDown):
                    await counters.reserve(rule.item, "k")
        assert await counters.retry_after(rule.item, "k") == 60
    finally:
        await counters.close()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings  # the cooldown spares the dead Redis
    assert "not limited for the next 5s" in warnings[0]


def test_redis_url_must_be_a_redis_url():
    from app.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="REDIS_URL"):
        Counters.in_redis("http://127.0.0.1:6379", "p")


# --- the memory storage: bounded cost, never an early eviction -----------------------------


async def test_memory_never_drops_an_open_window_however_many_keys():
    storage = ExpiringMemoryStorage()
    limiter = FixedWindowRateLimiter(storage)
    rule = Rule("t-flood", 1, 3600)
    assert await limiter.hit(rule.item, "victim")
    for i in range(20_000):
        await limiter.hit(rule.item, f"flood-{i}")
    assert not await limiter.hit(rule.item, "victim")  # the lockout still holds
    assert len(storage) == 20_001


async def test_memory_drops_closed_windows_a_few_at_a_time():
    storage = ExpiringMemoryStorage()
    for i in range(3 * SWEEP):
        await storage.incr(f"short-{i}", 0.05)
    await asyncio.sleep(0.1)
    await storage.incr("next", 60)
    assert len(storage) == 2 * SWEEP + 1  # one sweep's worth dropped, no more
    for i in range(3):
        await storage.incr(f"more-{i}", 60)
    assert len(storage) == 4  # the closed ones are gone; nothing open was touched
    assert await storage.get("short-0") == 0


async def test_memory_cost_per_call_does_not_grow_with_the_keys():
    """The heap of expiries stays within twice the live keys, stale entries included."""
    storage = ExpiringMemoryStorage()
    for i in range(5000):
        await storage.incr(f"k{i % 10}", 60)
        await storage.clear(f"k{i % 10}")  # what a success does to a failure count
    assert len(storage) == 0
    await storage.incr("k", 60)
    assert len(storage._heap) <= 2 * len(storage) + COMPACT_SLACK + 1


# --- the guard: count before check, keys, trust ---------------------------------------------


def guard(settings: Settings, **overrides: Any) -> AuthRateLimits:
    values = {
        "rate_limits_enabled": True,
        "rate_limit_login_failures": 10,
        "rate_limit_login_per_ip": 50,
        "rate_limit_login_per_account": 30,
        "rate_limit_client_failures": 20,
        "rate_limit_client_per_ip": 100,
        **overrides,
    }
    return AuthRateLimits.from_settings(settings.model_copy(update=values))


async def attempts(
    start: Callable[[], AbstractAsyncContextManager[Any]], n: int, ok: bool = False
) -> tuple[int, list[RateLimited]]:
    """Run `n` attempts at once, each yielding to the loop while "checking"; how many were
    checked, and the refusals."""
    checked = 0

    async def one() -> RateLimited | None:
        nonlocal checked
        try:
            async with start() as attempt:
                checked += 1
                await asyncio.sleep(0.01)
                if ok:
                    attempt.succeeded()
        except RateLimited as exc:
            return exc
        return None

    results = await asyncio.gather(*(one() for _ in range(n)))
    return checked, [r for r in results if r is not None]


async def test_60_parallel_logins_check_at_most_the_account_and_ip_limit(settings: Settings):
    limits = guard(settings)
    checked, refused = await attempts(lambda: limits.login_attempt("10.0.0.1", "a@x.io"), 60)
    assert checked == 10
    assert len(refused) == 50
    assert {r.surface for r in refused} == {Surface.ACCOUNT}
    assert {r.rule for r in refused} == {"login-ip", "login-account-ip"}
    assert all(890 <= r.retry_after <= 900 for r in refused)


async def test_200_parallel_client_attempts_check_at_most_the_limit(settings: Settings):
    limits = guard(settings)
    checked, refused = await attempts(lambda: limits.client_attempt("10.0.0.1", "cid"), 200)
    assert checked == 20
    assert len(refused) == 180
    assert {r.surface for r in refused} == {Surface.OAUTH}


async def test_a_success_clears_the_pairs_failures(settings: Settings):
    limits = guard(settings, rate_limit_login_failures=3)
    for _ in range(2):
        async with limits.login_attempt("10.0.0.1", "a@x.io"):
            pass  # a wrong password
    async with limits.login_attempt("10.0.0.1", "a@x.io") as attempt:
        attempt.succeeded()
    for _ in range(3):
        async with limits.login_attempt("10.0.0.1", "a@x.io"):
            pass
    with pytest.raises(RateLimited):
        async with limits.login_attempt("10.0.0.1", "a@x.io"):
            pytest.fail("past the limit, nothing may be checked")


async def test_one_ip_trying_many_accounts_is_bounded_by_the_per_ip_limit(settings: Settings):
    limits = guard(settings, rate_limit_login_per_ip=5)
    for i in range(5):
        async with limits.login_attempt("10.0.0.9", f"user{i}@x.io"):
            pass
    with pytest.raises(RateLimited) as refused:
        async with limits.login_attempt("10.0.0.9", "another@x.io"):
            pass
    assert refused.value.rule == "login-ip"
    # the limit is per IP (IPv6: per /64), not global
    async with limits.login_attempt("10.0.0.10", "another@x.io"):
        pass


async def test_invented_client_ids_from_one_ip_are_bounded_by_the_per_ip_limit(
    settings: Settings,
):
    limits = guard(settings, rate_limit_client_per_ip=7)
    checked, refused = await attempts(
        lambda: limits.client_attempt("2001:db8::1", secrets.token_hex(8)), 50
    )
    assert checked == 7
    assert {r.rule for r in refused} == {"client-ip"}


async def test_a_trusted_pair_skips_the_shared_keys(settings: Settings):
    """After a success from an IP, failures elsewhere (the per-account key exhausted from
    many IPs, the per-IP key exhausted by other accounts) never refuse that pair."""
    limits = guard(settings, rate_limit_login_per_account=4, rate_limit_login_per_ip=3)
    async with limits.login_attempt("192.0.2.1", "owner@x.io") as attempt:
        attempt.succeeded()
    for i in range(8):  # distributed guessing: 8 IPs, the account's ceiling is 4
        try:
            async with limits.login_attempt(f"198.51.100.{i}", "owner@x.io"):
                pass
        except RateLimited as exc:
            assert exc.rule == "login-account"
    with pytest.raises(RateLimited) as locked:  # a brand-new IP waits for the short window
        async with limits.login_attempt("203.0.113.7", "owner@x.io"):
            pass
    assert locked.value.rule == "login-account"
    for i in range(2):  # the owner's own IP, its budget used up by other accounts
        async with limits.login_attempt("192.0.2.1", f"other{i}@x.io"):
            pass
    with pytest.raises(RateLimited, match="login-ip"):
        async with limits.login_attempt("192.0.2.1", "yet-another@x.io"):
            pass
    for _ in range(5):
        async with limits.login_attempt("192.0.2.1", "owner@x.io") as attempt:
            attempt.succeeded()


async def test_a_trusted_client_has_room_for_many_concurrent_requests(settings: Settings):
    limits = guard(settings, rate_limit_client_failures=5)
    async with limits.client_attempt("10.1.1.1", "busy") as attempt:
        attempt.succeeded()
    checked, refused = await attempts(lambda: limits.client_attempt("10.1.1.1", "busy"), 300, True)
    assert (checked, refused) == (300, [])


async def test_the_owner_on_a_new_ip_waits_at_most_the_short_account_window(settings: Settings):
    limits = guard(
        settings,
        rate_limit_login_failures=2,
        rate_limit_login_per_account=4,
        rate_limit_login_account_window=1,
    )
    for i in range(6):
        try:
            async with limits.login_attempt(f"198.51.100.{i}", "owner@x.io"):
                pass
        except RateLimited:
            pass
    with pytest.raises(RateLimited) as locked:
        async with limits.login_attempt("203.0.113.7", "owner@x.io"):
            pass
    assert locked.value.retry_after == 1
    await asyncio.sleep(1.2)
    async with limits.login_attempt("203.0.113.7", "owner@x.io") as attempt:
        attempt.succeeded()


async def test_an_attempt_with_the_store_down_is_served_unlimited(settings: Settings):
    limits = guard(settings, rate_limit_login_failures=1)
    limits.counters = Counters.in_redis("redis://127.0.0.1:1/15", "unused")
    try:
        for _ in range(3):
            async with limits.login_attempt("10.0.0.1", "a@x.io") as attempt:
                attempt.succeeded()
        await limits.guard_registration("10.0.0.1")
    finally:
        await limits.close()


def test_limits_are_on_by_default_except_in_tests_and_the_setting_decides(settings: Settings):
    assert Settings(app_env="development").rate_limits_on
    production = Settings(app_env="production", secret_key="k" * 40)
    assert production.rate_limits_on
    assert not settings.rate_limits_on  # APP_ENV=test, RATE_LIMITS_ENABLED unset
    assert settings.model_copy(update={"rate_limits_enabled": True}).rate_limits_on
    assert not production.model_copy(update={"rate_limits_enabled": False}).rate_limits_on
    assert not AuthRateLimits.from_settings(settings).enabled


def test_limits_and_windows_must_be_positive(settings: Settings):
    with pytest.raises(ValueError, match="at least 1"):
        guard(settings, rate_limit_login_window=0)


def test_redis_url_selects_redis(settings: Settings):
    from limits.aio.storage import RedisStorage

    limits = guard(settings, redis_url=REDIS_URL)
    assert limits.counters is not None
    assert isinstance(limits.counters.storage, RedisStorage)
    assert isinstance(guard(settings).counters.storage, ExpiringMemoryStorage)


def test_keys_group_ipv6_per_64_and_hash_identities():
    assert ip_key("2001:db8:1:2:aaaa::1") == ip_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert ip_key("2001:db8:1:3::1") != ip_key("2001:db8:1:2::1")
    assert ip_key("::ffff:192.0.2.7") == ip_key("192.0.2.7") == "192.0.2.7"
    assert ip_key("unknown") == "unknown"
    assert account_key(" Alice@Example.com ") == account_key("alice@example.com")
    assert "alice" not in account_key("alice@example.com")  # no addresses in Redis
    assert len(client_key("x" * 500)) == 32


# --- over HTTP, in-process: each client its own IP ------------------------------------------


Clients = Callable[[str], httpx.AsyncClient]


@pytest.fixture
def limited(
    app: FastAPI, settings: Settings
) -> Callable[..., AbstractAsyncContextManager[Clients]]:
    """An app with the limits on; `clients(ip)` talks to it from `ip`. Asking for `app` gives
    this test empty tables too."""

    @asynccontextmanager
    async def build(**overrides: Any) -> AsyncIterator[Clients]:
        values = {
            "rate_limits_enabled": True,
            "rate_limit_login_failures": 10,
            "rate_limit_registrations_per_ip": 20,
            "access_log": False,
            **overrides,
        }
        application = create_app(settings.model_copy(update=values))
        opened: list[httpx.AsyncClient] = []

        def clients(ip: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=application, client=(ip, 40000))
            http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            opened.append(http)
            return http

        try:
            yield clients
        finally:
            for http in opened:
                await http.aclose()
            await application.state.services.db.dispose()
            await application.state.services.rate_limits.close()

    return build


async def login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/auth/login", json={"email": email, "password": password})


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts argon2 verifications (the work the limits protect)."""
    calls: list[int] = []
    original = PasswordHasher.verify

    async def counted(self: PasswordHasher, *args: Any, **kwargs: Any) -> bool:
        calls.append(1)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return calls


async def test_60_parallel_wrong_logins_check_10_and_a_correct_login_elsewhere_succeeds(
    limited, verifications: list[int]
):
    async with limited() as clients:
        attacker, owner = clients("203.0.113.66"), clients("198.51.100.7")
        await register(owner, "alice")
        verifications.clear()
        wrong = [login(attacker, "alice@example.com", f"guess-{i}") for i in range(60)]
        right = [login(owner, "alice@example.com", PASSWORD) for _ in range(3)]
        responses = await asyncio.gather(*wrong[:30], *right, *wrong[30:])
        mine = responses[30:33]
        theirs = responses[:30] + responses[33:]
        assert [r.status_code for r in mine] == [200, 200, 200]
        assert all(r.headers["cache-control"] == "no-store" for r in mine)
        statuses = sorted(r.status_code for r in theirs)
        assert statuses == [401] * 10 + [429] * 50
        assert len(verifications) == 10 + 3
        refused = next(r for r in theirs if r.status_code == 429)
        assert refused.json() == TOO_MANY
        assert 1 <= int(refused.headers["retry-after"]) <= 900
        assert refused.headers["cache-control"] == "no-store"
        # and from the attacker's IP even the right password is refused, unchecked
        assert (await login(attacker, "alice@example.com", PASSWORD)).status_code == 429
        assert (await login(owner, "alice@example.com", PASSWORD)).status_code == 200


async def test_10_failures_from_10_ips_leave_a_correct_login_from_an_11th_alone(limited):
    """The issue's "lockout as a weapon": failures from elsewhere never lock the owner out."""
    async with limited() as clients:
        await register(clients("192.0.2.1"), "alice")
        for i in range(10):
            response = await login(clients(f"198.51.100.{i}"), "alice@example.com", "wrong")
            assert response.status_code == 401
        assert (await login(clients("203.0.113.11"), "alice@example.com", PASSWORD)).is_success


async def test_200_parallel_wrong_secrets_check_20_and_a_correct_client_elsewhere_succeeds(
    limited,
):
    async with limited() as clients:
        attacker, backend = clients("203.0.113.66"), clients("198.51.100.7")
        owner = await register_and_login(backend, "owner")
        oauth_app = await create_oauth_app(backend, owner)
        tokens = await issue_tokens(backend, owner, oauth_app)
        wrong = {**oauth_app, "client_secret": "x" * 48}

        async def guess() -> httpx.Response:
            return await token_request(
                attacker, wrong, grant_type="refresh_token", refresh_token="r"
            )

        async def refresh() -> httpx.Response:
            nonlocal tokens
            response = await refresh_tokens(backend, oauth_app, tokens["refresh_token"])
            if response.status_code == 200:
                tokens = response.json()
            return response

        guesses = [guess() for _ in range(200)]
        responses = await asyncio.gather(*guesses[:100], refresh(), *guesses[100:])
        assert responses[100].status_code == 200, responses[100].text
        theirs = responses[:100] + responses[101:]
        assert sorted(r.status_code for r in theirs) == [401] * 20 + [429] * 180
        refused = next(r for r in theirs if r.status_code == 429)
        assert refused.json() == OAUTH_TOO_MANY
        assert refused.headers["cache-control"] == "no-store"
        assert 1 <= int(refused.headers["retry-after"]) <= 900
        for _ in range(3):  # the client, from its own IP, is never refused
            assert (await refresh()).status_code == 200


async def test_revoke_and_introspect_count_on_the_same_keys(limited):
    async with limited(rate_limit_client_failures=3) as clients:
        http = clients("203.0.113.5")
        owner = await register_and_login(http, "owner")
        oauth_app = await create_oauth_app(http, owner)
        wrong = {**oauth_app, "client_secret": "x" * 48}
        for path in ("/api/oauth/token", "/api/oauth/revoke", "/api/oauth/introspect"):
            response = await http.post(path, data={**FORM, **credentials(wrong)})
            assert response.status_code == 401
        for path in ("/api/oauth/token", "/api/oauth/revoke", "/api/oauth/introspect"):
            response = await http.post(path, data={**FORM, **credentials(oauth_app)})
            assert response.status_code == 429
            assert response.json() == OAUTH_TOO_MANY


async def test_registrations_are_counted_per_ip_before_anything_else(limited):
    async with limited(rate_limit_registrations_per_ip=2) as clients:
        http = clients("203.0.113.5")
        await register(http, "alice")
        bad = {"username": "x", "email": "bad", "password": "p", "accepted_policy": True}
        assert (await http.post("/api/auth/register", json=bad)).status_code == 400
        bob = {
            "username": "bob",
            "email": "bob@example.com",
            "password": PASSWORD,
            "accepted_policy": True,
        }
        third = await http.post("/api/auth/register", json=bob)
        assert third.status_code == 429
        assert third.json() == TOO_MANY
        assert 3590 <= int(third.headers["retry-after"]) <= 3600
        # bob was not created: the limit answered before anything else
        assert (await login(http, "bob@example.com", PASSWORD)).status_code == 401
        await register(clients("203.0.113.6"), "bob")  # another IP is not affected


async def test_rate_limits_enabled_false_turns_every_limit_off(limited):
    async with limited(rate_limits_enabled=False, rate_limit_login_failures=1) as clients:
        http = clients("203.0.113.5")
        for name in ("alice", "bob", "carol", "dave"):
            await register(http, name)
        for _ in range(5):
            assert (await login(http, "alice@example.com", "wrong-password")).status_code == 401
        assert (await login(http, "alice@example.com", PASSWORD)).status_code == 200


async def test_429s_are_counted_in_the_metrics_by_rule(limited):
    def sample(rule: str) -> float:
        return REGISTRY.get_sample_value("rate_limited_requests_total", {"rule": rule}) or 0

    before = sample("login-account-ip")
    async with limited(rate_limit_login_failures=3) as clients:
        http = clients("203.0.113.5")
        await register(http, "alice")
        for _ in range(5):
            await login(http, "alice@example.com", "wrong-password")
    assert sample("login-account-ip") - before == 2


async def test_apps_sharing_redis_share_the_counts(limited, redis_prefix: str):
    """Two apps stand for two workers: failures seen by one lock the pair on the other."""
    shared = {"redis_url": REDIS_URL, "redis_key_prefix": redis_prefix}
    async with (
        limited(rate_limit_login_failures=3, **shared) as first,
        limited(rate_limit_login_failures=3, **shared) as second,
    ):
        one, two = first("203.0.113.5"), second("203.0.113.5")
        await register(one, "alice")
        started = time.monotonic()
        for http in (one, two, one):
            assert (await login(http, "alice@example.com", "wrong")).status_code == 401
        refused = await login(two, "alice@example.com", PASSWORD)
        assert refused.status_code == 429
        waited = time.monotonic() - started
        assert 900 - waited - 2 <= int(refused.headers["retry-after"]) <= 900
        assert (await login(second("203.0.113.6"), "alice@example.com", PASSWORD)).is_success


FORM = {"grant_type": "refresh_token", "refresh_token": "r", "token": "t"}


def credentials(oauth_app: dict[str, Any]) -> dict[str, str]:
    return {"client_id": oauth_app["client_id"], "client_secret": oauth_app["client_secret"]}


async def register_and_login(http: httpx.AsyncClient, name: str) -> str:
    await register(http, name)
    response = await login(http, f"{name}@example.com", PASSWORD)
    assert response.status_code == 200, response.text
    return response.json()["auth_token"]


async def test_an_untrusted_proxy_is_named_once_in_the_log(
    limited, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """Behind a proxy uvicorn does not trust, every client would share the proxy's limits."""
    import app.api.deps

    monkeypatch.setattr(app.api.deps, "_untrusted_proxy_seen", False)
    async with limited() as clients:
        proxy = clients("10.0.0.5")
        with caplog.at_level(logging.WARNING, logger="app.api.deps"):
            for ip in ("203.0.113.9", "203.0.113.10"):
                await proxy.post(
                    "/api/auth/login",
                    json={"email": "a@example.com", "password": "x"},
                    headers={"X-Forwarded-For": ip},
                )
    warnings = [r.getMessage() for r in caplog.records if r.name == "app.api.deps"]
    assert len(warnings) == 1
    assert "10.0.0.5" in warnings[0] and "FORWARDED_ALLOW_IPS" in warnings[0]


def test_the_limits_know_nothing_of_http_and_the_engine_nothing_of_the_limits():
    """Layering (issue 15): `app/ratelimit` imports nothing from `app/api` nor a web
    framework; the engine sees the limits only through its `BruteForceGuard` protocol."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "app"
    for path in (root / "ratelimit").glob("*.py"):
        source = path.read_text()
        for forbidden in ("app.api", "fastapi", "starlette"):
            assert f"from {forbidden}" not in source and f"import {forbidden}" not in source
    for path in (root / "oauth").rglob("*.py"):
        source = path.read_text()
        assert "from app.ratelimit" not in source and "import app.ratelimit" not in source, path
