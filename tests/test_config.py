"""Settings: defaults, environment variables, the production secret, the development key."""

from __future__ import annotations

import logging
import re
import stat
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_VARIABLES = [
    "APP_ENV", "DATABASE_URL", "SECRET_KEY", "DATA_DIR", "HOST", "PORT", "CORS_ORIGINS",
    "USER_TOKEN_LIFETIME", "CODE_LIFETIME", "ACCESS_TOKEN_LIFETIME", "REFRESH_TOKEN_LIFETIME",
]  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_fittrackees(clean_env):
    settings = Settings()
    assert settings.app_env == "development"
    assert settings.database_url == "sqlite+aiosqlite:///data/oauth2.db"
    assert settings.is_sqlite
    assert settings.user_token_lifetime == 30 * 24 * 3600
    assert settings.code_lifetime == 300
    assert settings.access_token_lifetime == 864000
    assert settings.refresh_lifetime == 2 * 864000
    assert (settings.host, settings.port) == ("127.0.0.1", 5000)
    assert settings.cors_origin_list == []


def test_environment_variables_are_read(clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql+asyncpg://u@db:5432/oauth2")
    clean_env.setenv("SECRET_KEY", "s" * 40)
    clean_env.setenv("APP_ENV", "production")
    clean_env.setenv("PORT", "8080")
    clean_env.setenv("HOST", "0.0.0.0")
    clean_env.setenv("CORS_ORIGINS", "https://a.example, https://b.example,")
    clean_env.setenv("ACCESS_TOKEN_LIFETIME", "600")
    clean_env.setenv("CODE_LIFETIME", "60")
    clean_env.setenv("USER_TOKEN_LIFETIME", "3600")
    settings = Settings()
    assert settings.database_url == "postgresql+asyncpg://u@db:5432/oauth2"
    assert not settings.is_sqlite
    assert settings.signing_key() == "s" * 40
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.cors_origin_list == ["https://a.example", "https://b.example"]
    assert (settings.access_token_lifetime, settings.refresh_lifetime) == (600, 1200)
    assert (settings.code_lifetime, settings.user_token_lifetime) == (60, 3600)


def test_an_explicit_refresh_lifetime_wins(clean_env):
    clean_env.setenv("REFRESH_TOKEN_LIFETIME", "99")
    assert Settings().refresh_lifetime == 99


@pytest.mark.parametrize("secret", ["", "too-short"])
def test_production_requires_a_real_secret_key(clean_env, secret):
    clean_env.setenv("APP_ENV", "production")
    clean_env.setenv("SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings()


def test_development_key_is_generated_once_kept_and_warned_about(tmp_path, caplog):
    settings = Settings(secret_key="", data_dir=tmp_path / "data")
    with caplog.at_level(logging.WARNING, logger="app.config"):
        key = settings.signing_key()
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.read_text() == key
    assert len(key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert any("SECRET_KEY is not set" in r.getMessage() for r in caplog.records)
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app.config"):
        again = Settings(secret_key="", data_dir=tmp_path / "data").signing_key()
    assert again == key
    assert any("development key" in r.getMessage() for r in caplog.records)


def test_a_set_secret_key_writes_nothing(tmp_path):
    settings = Settings(secret_key="k" * 40, data_dir=tmp_path / "data")
    assert settings.signing_key() == "k" * 40
    assert not (tmp_path / "data").exists()


def test_workers_starting_together_share_one_development_key(tmp_path):
    settings = Settings(secret_key="", data_dir=tmp_path)
    keys: list[str] = []
    barrier = threading.Barrier(8)

    def start_worker() -> None:
        barrier.wait()
        keys.append(settings.signing_key())

    threads = [threading.Thread(target=start_worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_only_the_settings_module_reads_the_environment():
    """`app/config.py` is the one place environment variables are read."""
    pattern = re.compile(r"\bos\.environ\b|\bgetenv\s*\(|\bputenv\s*\(")
    readers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if path.name != "config.py" and pattern.search(path.read_text())
    ]
    assert readers == []


def test_database_pool_settings(clean_env):
    for name in ("DB_POOL_SIZE", "DB_POOL_TIMEOUT", "DB_STATEMENT_TIMEOUT", "DB_POOL_MAX_LIFETIME"):
        clean_env.delenv(name, raising=False)
    settings = Settings()
    assert (settings.db_pool_size, settings.db_pool_timeout) == (10, 5.0)
    assert settings.db_pool_max_lifetime == 3600
    assert settings.statement_timeout == 5.0  # follows DB_POOL_TIMEOUT unless set
    clean_env.setenv("DB_POOL_TIMEOUT", "2")
    assert Settings().statement_timeout == 2.0
    clean_env.setenv("DB_STATEMENT_TIMEOUT", "0.5")
    assert Settings().statement_timeout == 0.5
    for name, value in (("DB_POOL_SIZE", "0"), ("DB_STATEMENT_TIMEOUT", "0")):
        clean_env.setenv(name, value)
        with pytest.raises(ValidationError):
            Settings()
        clean_env.delenv(name)
