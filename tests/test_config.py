"""Settings: defaults, environment variables, the production secret, the development key."""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from app.config import ConfigurationError, Settings
from app.db.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_VARIABLES = [name.upper() for name in Settings.model_fields] + ["ENV_FILE"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No setting in the environment, and a working directory without a `.env`."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults_are_fittrackees(clean_env):
    settings = Settings()
    assert settings.app_env == "development"
    assert settings.data_dir == ROOT / "data"
    assert settings.database_url == f"sqlite+aiosqlite:///{ROOT}/data/oauth2.db"
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


def test_development_key_is_generated_once_kept_and_warned_about_once(tmp_path, caplog):
    settings = Settings(secret_key="", data_dir=tmp_path / "data")
    with caplog.at_level(logging.WARNING, logger="app.config"):
        key = settings.signing_key()
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.read_text() == key
    assert len(key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    [warning] = [r.getMessage() for r in caplog.records]
    assert "SECRET_KEY is not set: generated a development key" in warning
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app.config"):
        again = Settings(secret_key="", data_dir=tmp_path / "data").signing_key()
        settings.signing_key()
    assert again == key
    assert caplog.records == []  # reading the kept key again says nothing


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


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems start processes with (022: files 0644 unless asked)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


async def write_something(database_url: str, data_dir: Path) -> None:
    engine = make_engine(Settings(database_url=database_url, data_dir=data_dir))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x TEXT)"))
            await conn.execute(text("INSERT INTO t VALUES ('secret')"))
    finally:
        await engine.dispose()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_data_folder_key_and_sqlite_files_are_private(tmp_path, usual_umask):
    """`data/oauth2.db` was created 0644 (issue 10): folder 0700, files 0600, -wal and -shm
    included."""
    data = tmp_path / "data"
    Settings(secret_key="", data_dir=data).signing_key()
    database = data / "oauth2.db"
    engine = make_engine(Settings(database_url=f"sqlite+aiosqlite:///{database}", data_dir=data))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x TEXT)"))
            await conn.execute(text("INSERT INTO t VALUES ('secret')"))
        wal, shm = data / "oauth2.db-wal", data / "oauth2.db-shm"
        assert wal.exists() and shm.exists()  # WAL mode, connection still open
        assert mode(data) == 0o700
        assert {f.name: mode(f) for f in data.iterdir()} == {
            "secret_key": 0o600,
            "oauth2.db": 0o600,
            "oauth2.db-wal": 0o600,
            "oauth2.db-shm": 0o600,
        }
    finally:
        await engine.dispose()


async def test_files_an_older_version_left_open_are_tightened(tmp_path, usual_umask, caplog):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    database = data / "oauth2.db"
    await write_something(f"sqlite+aiosqlite:///{database}", tmp_path / "elsewhere")
    database.chmod(0o644)
    (data / "secret_key").write_text("k" * 40)
    (data / "secret_key").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="app.config"):
        Settings(secret_key="", data_dir=data).signing_key()
        make_engine(Settings(database_url=f"sqlite+aiosqlite:///{database}", data_dir=data))
    assert mode(data) == 0o700
    assert mode(database) == 0o600
    assert mode(data / "secret_key") == 0o600
    assert any("readable by others" in r.getMessage() for r in caplog.records)


async def test_a_database_outside_the_data_folder_leaves_its_folder_alone(tmp_path, usual_umask):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    await write_something(f"sqlite+aiosqlite:///{folder / 'app.db'}", tmp_path / "data")
    assert mode(folder) == 0o755
    assert mode(folder / "app.db") == 0o600


# --- .env files and empty values --------------------------------------------------------


def test_a_dot_env_in_the_working_directory_is_read_and_the_environment_wins(clean_env, tmp_path):
    (tmp_path / ".env").write_text(
        "# a comment\nPORT=8081\nCORS_ORIGINS=https://a.example\nWORKERS=3\n"
    )
    clean_env.setenv("WORKERS", "2")
    settings = Settings.load()
    assert settings.port == 8081
    assert settings.cors_origin_list == ["https://a.example"]
    assert settings.workers == 2
    assert Settings().port == 5000  # only load() reads the file: tests build Settings() freely


def test_env_file_names_the_file_to_read(clean_env, tmp_path):
    (tmp_path / ".env").write_text("PORT=8081\n")
    other = tmp_path / "elsewhere" / "server.env"
    other.parent.mkdir()
    other.write_text("PORT=9090\nSECRET_KEY=" + "e" * 40 + "\n")
    clean_env.setenv("ENV_FILE", str(other))
    settings = Settings.load()
    assert settings.port == 9090
    assert settings.signing_key() == "e" * 40


def test_a_missing_env_file_is_a_configuration_error(clean_env, tmp_path):
    clean_env.setenv("ENV_FILE", str(tmp_path / "nope.env"))
    with pytest.raises(
        ConfigurationError, match=r"ENV_FILE names .*nope\.env, which is not a file"
    ):
        Settings.load()


def test_empty_values_mean_the_default(clean_env, tmp_path):
    (tmp_path / ".env").write_text("DATABASE_URL=\nPORT=\nREFRESH_TOKEN_LIFETIME=\n")
    clean_env.setenv("WORKERS", "")
    clean_env.setenv("DB_POOL_TIMEOUT", "")
    settings = Settings.load()
    assert settings.database_url == f"sqlite+aiosqlite:///{ROOT}/data/oauth2.db"
    assert (settings.port, settings.workers, settings.db_pool_timeout) == (5000, 1, 5.0)
    assert settings.refresh_lifetime == 2 * settings.access_token_lifetime


def test_the_default_database_follows_data_dir(clean_env, tmp_path):
    clean_env.setenv("DATA_DIR", str(tmp_path / "state"))
    settings = Settings.load()
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/state/oauth2.db"
    assert Settings(database_url="sqlite+aiosqlite:///x.db").database_url.endswith("///x.db")


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
