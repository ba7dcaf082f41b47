"""Settings: the one place environment variables are read (pydantic-settings).

Every field is read from the environment variable of the same name, upper-cased
(`DATABASE_URL`, `SECRET_KEY`, `CORS_ORIGINS`, ...). The defaults give a working development
server on SQLite under `./data/`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import secrets
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.oauth.scopes import Version, parse_version

log = logging.getLogger(__name__)

DATA_DIR = Path("data")
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{DATA_DIR / 'oauth2.db'}"
MIN_SECRET_KEY = 32
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
SECRET_KEY_FILE = "secret_key"
URI_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*\Z")
# Schemes that would let a "redirect" run script or read local data in the user's browser, or
# that have rules of their own (http only on loopback): never a private-use scheme.
FORBIDDEN_REDIRECT_SCHEMES = frozenset(
    {"http", "https", "javascript", "vbscript", "data", "file", "blob", "about", "filesystem"}
)


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

    # Database pools (SQLAlchemy's, and on PostgreSQL the hot lane's, `app.db.pg_pool`), each
    # this large; how long a request waits for a connection before answering 503.
    db_pool_size: int = 10
    # Extra connections beyond the pool are opened and closed per burst: costly, so none by
    # default (requests queue for a pooled connection, up to DB_POOL_TIMEOUT).
    db_max_overflow: int = 0
    db_pool_timeout: float = 5.0

    # argon2 cost; tests lower it, production keeps passlib's defaults.
    argon2_rounds: int | None = None
    argon2_memory_cost: int | None = None

    max_body_bytes: int = 64 * 1024
    max_header_bytes: int = Field(
        32 * 1024,
        ge=1024,
        description="Largest request line plus headers, in bytes; a larger request head gets "
        "431 (with make run's --http app.http_limits:HeaderLimitedHttpToolsProtocol).",
    )

    # --- Operations (issue 6): discovery, rate limits, metrics and logs ---
    issuer: str = Field(
        "",
        description="RFC 8414 issuer, the https URL clients reach this server at (e.g. "
        "https://oauth.example.com); required in production.",
    )
    issuer_hosts: str = Field(
        "",
        description="Comma-separated Host values (host or host:port) that may name the issuer "
        "when ISSUER is unset (development); empty: localhost, 127.0.0.1, [::1] and HOST:PORT.",
    )
    redis_url: str = Field(
        "",
        description="Redis for the rate-limit counters, shared by every worker and replica "
        "(redis://, rediss:// or unix://); empty: this process's memory.",
    )
    redis_key_prefix: str = Field(
        "fittrackee-oauth2:ratelimit",
        description="Prefix of the rate-limit keys in Redis.",
    )
    web_concurrency: int | None = Field(
        None,
        ge=1,
        description="uvicorn's and gunicorn's WEB_CONCURRENCY: worker processes, counted like "
        "WORKERS when deciding whether the rate limits need REDIS_URL.",
    )
    rate_limits_enabled: bool | None = Field(
        None, description="Turns every rate limit on or off; unset: on, except when APP_ENV=test."
    )
    rate_limit_login_failures: int = Field(
        10,
        description="Login attempts per account and client IP per RATE_LIMIT_LOGIN_WINDOW; "
        "a successful login clears them.",
    )
    rate_limit_login_per_ip: int = Field(
        50,
        description="Login attempts per client IP per RATE_LIMIT_LOGIN_WINDOW, counting only "
        "accounts not yet logged in from that IP.",
    )
    rate_limit_login_window: int = Field(
        900, description="Window of the per (account, IP) and per-IP login limits, in seconds."
    )
    rate_limit_login_per_account: int = Field(
        30,
        description="Login attempts per account from all IPs where it has not logged in "
        "before, per RATE_LIMIT_LOGIN_ACCOUNT_WINDOW.",
    )
    rate_limit_login_account_window: int = Field(
        300, description="Window of the per-account login limit, in seconds."
    )
    rate_limit_registrations_per_ip: int = Field(
        20, description="Registration attempts per client IP per RATE_LIMIT_REGISTRATION_WINDOW."
    )
    rate_limit_registration_window: int = Field(
        3600, description="Window of the registration limit, in seconds."
    )
    rate_limit_client_failures: int = Field(
        20,
        description="Client authentications per client_id and IP per RATE_LIMIT_CLIENT_WINDOW "
        "at /token, /revoke and /introspect; a success clears them.",
    )
    rate_limit_client_trusted_failures: int = Field(
        1000,
        description="The same, from an IP where the client authenticated before: room for a "
        "busy client's concurrent requests.",
    )
    rate_limit_client_per_ip: int = Field(
        100,
        description="Client authentications per IP per RATE_LIMIT_CLIENT_WINDOW, counting only "
        "client_ids not yet authenticated from that IP.",
    )
    rate_limit_client_window: int = Field(
        900, description="Window of the client-authentication limits, in seconds."
    )
    rate_limit_trusted_for: int = Field(
        30 * 24 * 3600,
        description="How long a success from an IP exempts that account or client_id, from "
        "that IP, from the per-IP and per-account limits, in seconds.",
    )
    access_log: bool = True  # one JSON line per request on stdout
    metrics_enabled: bool = True  # GET /metrics and the request metrics
    prometheus_multiproc_dir: str = ""  # several workers: an empty directory they share

    # --- FitTrackee compatibility (issue 11) ---
    fittrackee_api_version: str = Field(
        "1.3.6",
        description=(
            "The FitTrackee API version this server implements (0.7.0 or later): the `version` "
            "GET /api/config reports, a compatibility value clients check, and the scope "
            "catalogue offered (every FitTrackee scope added at or before it)."
        ),
    )
    oauth2_extra_redirect_schemes: str = Field(
        "",
        description=(
            "Comma-separated private-use URI schemes apps may use in redirect URIs, besides "
            "https, http on loopback hosts, reverse-domain schemes and FitTrackee's myapp, "
            "app and indoorbike."
        ),
    )
    registration_enabled: bool = Field(
        True,
        description=(
            "Whether POST /api/auth/register creates accounts; when false it answers 403 "
            "(the command line's create-user still works)."
        ),
    )
    about: str | None = Field(
        None, description="The instance's about text (Markdown), reported by GET /api/config."
    )
    privacy_policy: str | None = Field(
        None,
        description="The instance's privacy policy (Markdown), reported by GET /api/config.",
    )
    privacy_policy_date: datetime | None = Field(
        None,
        description=(
            "When the privacy policy last changed (ISO 8601, UTC when no offset is given), "
            "reported with it."
        ),
    )
    admin_contact: str | None = Field(
        None,
        description="The administrator's contact e-mail address, reported by GET /api/config.",
    )

    @field_validator("fittrackee_api_version")
    @classmethod
    def _known_fittrackee_version(cls, value: str) -> str:
        try:
            parse_version(value)
        except ValueError as exc:
            raise ConfigurationError(f"FITTRACKEE_API_VERSION={value!r}: {exc}") from None
        return value.strip()

    @field_validator("privacy_policy_date")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("oauth2_extra_redirect_schemes")
    @classmethod
    def _private_use_schemes(cls, value: str) -> str:
        for scheme in _comma_list(value):
            if not URI_SCHEME.match(scheme) or scheme in FORBIDDEN_REDIRECT_SCHEMES:
                raise ConfigurationError(
                    f"OAUTH2_EXTRA_REDIRECT_SCHEMES: {scheme!r} is not a private-use URI scheme "
                    "(RFC 3986 §3.1; not http, https, javascript, data, file...)"
                )
        return value

    @model_validator(mode="after")
    def _require_secret_in_production(self) -> Settings:
        if self.app_env == "production" and len(self.secret_key) < MIN_SECRET_KEY:
            raise ValueError(
                f"SECRET_KEY of at least {MIN_SECRET_KEY} characters is required in production"
            )
        return self

    @model_validator(mode="after")
    def _issuer_is_a_base_url(self) -> Settings:
        """RFC 8414 §2: a URL with a scheme and host, no query or fragment."""
        if self.issuer:
            parts = urlsplit(self.issuer)
            if parts.scheme not in ("https", "http") or not parts.netloc:
                raise ValueError("ISSUER must be an https URL such as https://oauth.example.com")
            if parts.query or parts.fragment or "?" in self.issuer or "#" in self.issuer:
                raise ValueError("ISSUER must not have a query or a fragment")
        return self

    @property
    def refresh_lifetime(self) -> int:
        return self.refresh_token_lifetime or 2 * self.access_token_lifetime

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def fittrackee_version(self) -> Version:
        """`fittrackee_api_version` as numbers, for comparisons."""
        return parse_version(self.fittrackee_api_version)

    @property
    def extra_redirect_schemes(self) -> frozenset[str]:
        return frozenset(_comma_list(self.oauth2_extra_redirect_schemes))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def rate_limits_on(self) -> bool:
        """`RATE_LIMITS_ENABLED` when set; unset, on everywhere but `APP_ENV=test`."""
        if self.rate_limits_enabled is None:
            return self.app_env != "test"
        return self.rate_limits_enabled

    @property
    def issuer_host_list(self) -> list[str]:
        """Host header values that may name the issuer when ISSUER is unset, lower-cased; the
        first is the one answered for any other Host."""
        configured = [h.strip().lower() for h in self.issuer_hosts.split(",") if h.strip()]
        if configured:
            return configured
        served = [] if self.host in WILDCARD_HOSTS else [f"{_bracketed(self.host)}:{self.port}"]
        loopback = [f"{name}:{self.port}" for name in LOOPBACK_NAMES]
        return list(dict.fromkeys([*served, *loopback, *LOOPBACK_NAMES]))

    def signing_key(self) -> str:
        """The JWT key: SECRET_KEY, or (outside production) one generated once and kept in
        the data folder, so that tokens survive a restart and every worker signs alike."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / SECRET_KEY_FILE
        if not key_file.exists():
            _create_key_file(key_file)
        else:
            make_private(key_file, 0o600)
        log.warning(
            "SECRET_KEY is not set: signing user tokens with the development key kept in %s; "
            "set SECRET_KEY (and APP_ENV=production) for a real deployment",
            key_file,
        )
        return key_file.read_text().strip()


def _comma_list(value: str) -> list[str]:
    """`"a, B,"` to `["a", "b"]`: URI schemes are case-insensitive (RFC 3986 §3.1)."""
    return [item.strip().lower() for item in value.split(",") if item.strip()]


def _create_key_file(key_file: Path) -> None:
    """Write a new random key atomically: several workers starting at once end up with the
    same key (the first `link` wins, the others read it)."""
    private_directory(key_file.parent)
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


def private_directory(path: Path) -> None:
    """The data folder: created 0700 (its parents as `mkdir -p` would), or tightened to it."""
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        make_private(path, 0o700)


def make_private(path: Path, mode: int) -> None:
    """Take group and other permissions away from a secret-holding file or folder we own
    (one made by an earlier version, say); say so, as it changes what others can read."""
    try:
        current = path.stat().st_mode & 0o777
        if current & 0o077 and path.stat().st_uid == os.getuid():
            path.chmod(mode)
            log.warning("%s was readable by others (%o): now %o", path, current, mode)
    except OSError as exc:
        log.warning("could not restrict %s to its owner: %s", path, exc)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host.lower()


def worker_processes(settings: Settings) -> int:
    """How many processes serve this app: WORKERS or WEB_CONCURRENCY, whichever says more,
    and at least 2 when this process is a uvicorn (multiprocessing) worker, which is how
    `uvicorn --workers N` runs its N > 1 workers (a `--reload` server's one worker looks the
    same: outside production that costs a warning only)."""
    count = max(settings.workers, settings.web_concurrency or 1)
    if multiprocessing.parent_process() is not None:
        count = max(count, 2)
    return count


def check_can_serve(settings: Settings) -> None:
    """The server's start-up refusals (the command line and migrations need neither), as
    one-line ConfigurationErrors; warnings for what is only risky outside production."""
    production = settings.app_env == "production"
    if production and not settings.issuer:
        raise ConfigurationError(
            "ISSUER is required in production: the https URL clients reach this server at "
            "(RFC 8414), e.g. ISSUER=https://oauth.example.com"
        )
    if settings.rate_limits_on and not settings.redis_url:
        workers = worker_processes(settings)
        if workers > 1:
            problem = (
                f"{workers} worker processes count rate limits apart without REDIS_URL: "
                "set REDIS_URL (e.g. redis://redis:6379/0) to share them"
            )
            if production:
                raise ConfigurationError(problem)
            log.warning("%s (refused in production)", problem)


@lru_cache
def get_settings() -> Settings:
    return Settings()
