"""Settings: the one place environment variables are read (pydantic-settings)."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

DATA_DIR = Path("data")
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{DATA_DIR / 'oauth2.db'}"


class Settings(BaseSettings):
    """Every knob of the service; defaults give a working development server on SQLite."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    app_env: Literal["development", "production", "test"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 5000
    cors_origins: str = ""  # comma-separated origins of the single-page client

    # Lifetimes, in seconds (FitTrackee's defaults).
    user_token_lifetime: int = 30 * 24 * 3600
    code_lifetime: int = 300
    access_token_lifetime: int = 864000
    refresh_token_lifetime: int | None = None  # None: twice the access-token lifetime

    oauth2_require_pkce: bool = False
    oauth2_allow_plain_pkce: bool = False

    # Database pool: how long a request waits for a connection before answering 503.
    db_pool_size: int = 10
    db_pool_timeout: float = 5.0

    # argon2 cost; tests lower it, production keeps passlib's defaults.
    argon2_rounds: int | None = None
    argon2_memory_cost: int | None = None

    max_body_bytes: int = 64 * 1024

    @model_validator(mode="after")
    def _require_secret_in_production(self) -> Settings:
        if self.app_env == "production" and len(self.secret_key) < 32:
            raise ValueError("SECRET_KEY of at least 32 characters is required in production")
        return self

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
        """The JWT key: SECRET_KEY, or one generated once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        key_file = DATA_DIR / "secret_key"
        if not key_file.exists():
            DATA_DIR.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
            log.warning("SECRET_KEY not set: generated one in %s (development only)", key_file)
        return key_file.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
