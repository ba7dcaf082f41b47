"""Start-up refusals: settings the server must not run with in production end it with one
line (no traceback) and uvicorn's start-up failure status; outside production, a warning."""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import sys
from typing import Any

import pytest

from app.config import ConfigurationError, Settings, check_can_serve, worker_processes
from tests.helpers import TEST_SECRET_KEY
from tests.live_server import ROOT, free_port

PRODUCTION = {
    "app_env": "production",
    "secret_key": TEST_SECRET_KEY,
    "issuer": "https://oauth.example.com",
}


def production(**overrides: Any) -> Settings:
    return Settings(**{**PRODUCTION, **overrides})


def test_production_requires_an_issuer():
    with pytest.raises(ConfigurationError, match="ISSUER is required in production"):
        check_can_serve(production(issuer=""))
    check_can_serve(production())


@pytest.mark.parametrize("issuer", ["oauth.example.com", "ftp://x.example", "https://x/?a=1"])
def test_an_issuer_is_an_http_url_without_query(issuer: str):
    with pytest.raises(ValueError, match="ISSUER"):
        Settings(issuer=issuer)


@pytest.mark.parametrize("workers", [{"workers": 4}, {"web_concurrency": 2}])
def test_production_refuses_several_workers_without_redis(workers: dict[str, int]):
    with pytest.raises(ConfigurationError, match="without REDIS_URL") as refused:
        check_can_serve(production(**workers))
    assert "\n" not in str(refused.value)
    check_can_serve(production(**workers, redis_url="redis://redis:6379/0"))
    check_can_serve(production(**workers, rate_limits_enabled=False))


def test_a_uvicorn_worker_process_counts_as_several(monkeypatch: pytest.MonkeyPatch):
    assert worker_processes(production()) == 1
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: object())
    assert worker_processes(production()) == 2
    with pytest.raises(ConfigurationError):
        check_can_serve(production())


def test_development_only_warns(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="app.config"):
        check_can_serve(Settings(app_env="development", workers=3))
    assert [r.getMessage() for r in caplog.records] == [
        "3 worker processes count rate limits apart without REDIS_URL: set REDIS_URL (e.g. "
        "redis://redis:6379/0) to share them (refused in production)"
    ]


def serve(database_url: str, env: dict[str, str], workers: int) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1",
        "--port", str(free_port()), "--workers", str(workers),
    ]  # fmt: skip
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "REDIS"))}
    full_env = {**inherited, "DATABASE_URL": database_url, **env}
    return subprocess.run(
        command, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "workers", "reason"),
    [
        (
            {"APP_ENV": "production", "SECRET_KEY": TEST_SECRET_KEY},
            1,
            "ISSUER is required in production",
        ),
        (
            {"APP_ENV": "production", "SECRET_KEY": TEST_SECRET_KEY, "ISSUER": "https://a.b"},
            2,
            "2 worker processes count rate limits apart without REDIS_URL",
        ),
        ({"APP_ENV": "production", "SECRET_KEY": "short"}, 1, "SECRET_KEY"),
    ],
    ids=["no issuer", "two workers, no redis", "short secret"],
)
def test_uvicorn_stops_with_one_line(database_url: str, env, workers: int, reason: str):
    """It stops by itself (no restart loop); one worker exits with 3, a multi-worker
    uvicorn's parent stops its workers (and exits 0, uvicorn's choice)."""
    result = serve(database_url, env, workers)
    if workers == 1:
        assert result.returncode == 3, result.stderr
    ours = [line for line in result.stderr.splitlines() if line.startswith("fittrackee-oauth2:")]
    assert ours and all(reason in line for line in ours), result.stderr
    assert "Traceback" not in result.stderr
