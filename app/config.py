"""Settings: the one place environment variables are read (pydantic-settings).

Every field is read from the environment variable of the same name, upper-cased
(`DATABASE_URL`, `SECRET_KEY`, `CORS_ORIGINS`, ...). The defaults give a working development
server on SQLite under `./data/`.
"""

from __future__ import annotations

import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

DATA_DIR = Path("data")
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{DATA_DIR / 'oauth2.db'}"
MIN_SECRET_KEY = 32
SECRET_KEY_FILE = "secret_key"


class ConfigurationError(Exception):
    """Settings the service cannot start with; the message is one line an operator can act on."""


class Settings(BaseSettings):
    """Every knob of the service; defaults give a working development server on SQLite."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    app_env: Literal["development", "production", "test"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    # Signs the users' JWTs. Required in production; in development a key is generated once
    # and kept in `data_dir` (see `signing_key`).
    secret_key: str = ""
    data_dir: Path = DATA_DIR
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = Field(1, ge=1, description="uvicorn worker processes of one server.")
    cors_origins: str = ""  # comma-separated origins of the single-page client

    # Lifetimes, in seconds (FitTrackee's defaults).
    user_token_lifetime: int = 30 * 24 * 3600
    code_lifetime: int = 300
    access_token_lifetime: int = 864000
    refresh_token_lifetime: int | None = None  # None: twice the access-token lifetime

    oauth2_require_pkce: bool = False
    oauth2_allow_plain_pkce: bool = False

    # The database connections of one worker process: on PostgreSQL the asyncpg lane's pool
    # (`app.db.pg_pool`), the only one; on SQLite, SQLAlchemy's.
    db_pool_size: int = Field(
        10, ge=1, description="Database connections one worker process holds at most."
    )
    db_pool_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds a request waits for a database connection (a free one, or a "
        "new one opened) before it is answered 503.",
    )
    db_statement_timeout: float | None = Field(
        None,
        gt=0,
        description="Seconds one statement of the server may run on PostgreSQL before the "
        "request is answered 503 (a frozen or overloaded database); unset: DB_POOL_TIMEOUT. "
        "The command line's statements are not limited.",
    )
    db_pool_max_lifetime: float = Field(
        3600.0,
        gt=0,
        description="Seconds a PostgreSQL connection is reused for before it is closed "
        "and replaced by a new one.",
    )

    # argon2 cost; tests lower it, production keeps passlib's defaults.
    argon2_rounds: int | None = None
    argon2_memory_cost: int | None = None

    max_body_bytes: int = 64 * 1024

    # --- Operations (issue 6): discovery, rate limits, metrics and logs ---
    # RFC 8414 issuer, e.g. https://oauth.example.com; empty: each request's base URL.
    issuer: str = ""
    # Rate-limit counters in Redis (shared by every worker and replica); empty: in memory.
    redis_url: str = ""
    rate_limits_enabled: bool | None = None  # None: on, except when APP_ENV=test
    rate_limit_login_per_account: int = 10  # failed logins per e-mail per window
    rate_limit_login_per_ip: int = 50  # failed logins per client IP per window
    rate_limit_login_window: int = 900
    rate_limit_registrations_per_ip: int = 20
    rate_limit_registration_window: int = 3600
    rate_limit_client_failures: int = 20  # failed client authentications per client_id
    rate_limit_client_window: int = 900
    access_log: bool = True  # one JSON line per request on stdout
    metrics_enabled: bool = True  # GET /metrics and the request metrics
    prometheus_multiproc_dir: str = ""  # several workers: an empty directory they share

    @model_validator(mode="after")
    def _require_secret_in_production(self) -> Settings:
        if self.app_env == "production" and len(self.secret_key) < MIN_SECRET_KEY:
            raise ValueError(
                f"SECRET_KEY of at least {MIN_SECRET_KEY} characters is required in production"
            )
        return self

    @property
    def statement_timeout(self) -> float:
        return self.db_statement_timeout or self.db_pool_timeout

    @property
    def refresh_lifetime(self) -> int:
        return self.refresh_token_lifetime or 2 * self.access_token_lifetime

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def signing_key(self) -> str:
        """The JWT key: SECRET_KEY, or (outside production) one generated once and kept in
        the data folder, so that tokens survive a restart and every worker signs alike."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / SECRET_KEY_FILE
        if not key_file.exists():
            _create_key_file(key_file)
        log.warning(
            "SECRET_KEY is not set: signing user tokens with the development key kept in %s; "
            "set SECRET_KEY (and APP_ENV=production) for a real deployment",
            key_file,
        )
        return key_file.read_text().strip()


def _create_key_file(key_file: Path) -> None:
    """Write a new random key atomically: several workers starting at once end up with the
    same key (the first `link` wins, the others read it)."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, key_file)
            log.warning("SECRET_KEY is not set: generated a development key in %s", key_file)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


@lru_cache
def get_settings() -> Settings:
    return Settings()
