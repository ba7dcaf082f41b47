"""Why the server or a command cannot start, in one line an operator can act on.

The launcher (`fittrackee-oauth2 serve`) and the command line turn a bad setting, a database
that does not exist or cannot be reached, and a schema that is not migrated into a
`StartupError`: one `error: ...` line and one `hint: ...` line on stderr, never a traceback.
Secrets never reach these lines: a URL is shown without its password, a setting's value is
not shown at all.
"""

from __future__ import annotations

import socket

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

SETTINGS_HINT = (
    "set it in the environment or in .env (every setting: docs/settings.md), then start again"
)
# PostgreSQL SQLSTATEs (Appendix A of its manual) worth a sentence of their own.
DATABASE_MISSING = "3D000"
AUTHENTICATION_FAILED = ("28000", "28P01")
UNDEFINED_TABLE = "42P01"
TOO_MANY_CONNECTIONS = "53300"
NOT_READY = ("57P03",)


class StartupError(Exception):
    """One line saying what is wrong, one saying what to do; the process's exit status
    (2: a setting is wrong, 1: something outside is)."""

    def __init__(self, message: str, hint: str, status: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status

    def lines(self) -> str:
        return f"error: {self.message}\nhint: {self.hint}\n"


def settings_error(exc: ValidationError) -> StartupError:
    """A pydantic refusal of the settings, each problem named by its environment variable
    (values are left out: they may be secrets)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        message = error["msg"].removeprefix("Value error, ")
        location = [str(part) for part in error["loc"]]
        problems.append(f"{location[0].upper()}: {message}" if location else message)
    return StartupError("invalid settings: " + "; ".join(problems), SETTINGS_HINT, status=2)


def configuration_error(exc: Exception) -> StartupError:
    """An `app.config.ConfigurationError`: its message is already the one line."""
    return StartupError(str(exc), SETTINGS_HINT, status=2)


def where(database_url: str) -> str:
    """The database a URL names, without its password: `oauth2 on db.example:5432`."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return "the DATABASE_URL"
    if url.get_backend_name() == "sqlite":
        return f"the SQLite file {url.database}"
    return f'"{url.database}" on {url.host or "localhost"}:{url.port or 5432}'


# What `database_error` explains; anything else is a bug, and keeps its traceback.
DATABASE_FAILURES = (SQLAlchemyError, OSError, ModuleNotFoundError)


def database_error(exc: BaseException, database_url: str) -> StartupError:
    """What a failed connection or first statement (one of `DATABASE_FAILURES`) means, from
    the driver's SQLSTATE or the socket error."""
    target = where(database_url)
    driver = exc.orig if isinstance(exc, DBAPIError) else None
    sqlstate = getattr(driver, "sqlstate", None) or getattr(driver, "pgcode", None)
    detail = str(driver.__cause__ or driver).splitlines()[0] if driver is not None else ""
    if sqlstate == DATABASE_MISSING:
        url = make_url(database_url)
        return StartupError(
            detail or f'database "{url.database}" does not exist',
            f"create it (psql -c 'CREATE DATABASE \"{url.database}\"', or createdb) or point "
            "DATABASE_URL at an existing one",
        )
    if sqlstate in AUTHENTICATION_FAILED:
        return StartupError(
            f"the database refused the login: {detail}",
            "check the user name and password in DATABASE_URL",
        )
    if sqlstate == UNDEFINED_TABLE or _sqlite_missing_table(exc):
        return not_migrated(database_url)
    if sqlstate == TOO_MANY_CONNECTIONS:
        return StartupError(
            f"{target}: too many connections",
            "lower WORKERS or DB_POOL_SIZE, or raise PostgreSQL's max_connections "
            "(docs/settings.md, Database connections)",
        )
    if sqlstate in NOT_READY:
        return StartupError(f"{target} is starting up", "wait for it, then start again")
    if isinstance(exc, socket.gaierror):
        return StartupError(
            f"cannot reach {target}: unknown host",
            "check the host name in DATABASE_URL",
        )
    if isinstance(exc, ConnectionRefusedError | TimeoutError):
        reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else "timed out"
        return StartupError(
            f"cannot reach {target}: {reason}",
            "is the database server running and reachable from here? check the host and "
            "port in DATABASE_URL",
        )
    if isinstance(exc, OSError):
        return StartupError(
            f"cannot open {target}: {exc.strerror or type(exc).__name__}",
            "check DATABASE_URL (or DATA_DIR for the default SQLite file) and the folder's "
            "permissions",
        )
    if isinstance(exc, ArgumentError | ModuleNotFoundError):
        return StartupError(
            "DATABASE_URL is not a database this server can use",
            "use postgresql+asyncpg://user:password@host:5432/name, or leave it empty for SQLite",
            status=2,
        )
    return StartupError(
        f"{target}: {detail or type(exc).__name__}", "check the database server's log"
    )


def not_migrated(database_url: str, current: str | None = None, head: str = "") -> StartupError:
    state = f"at revision {current}" if current else "not migrated"
    expects = f" (this version needs revision {head})" if head else ""
    return StartupError(
        f"{where(database_url)} is {state}{expects}",
        "run `fittrackee-oauth2 migrate` (or start with `fittrackee-oauth2 serve --migrate`)",
    )


def unknown_revision(database_url: str, current: str) -> StartupError:
    return StartupError(
        f"{where(database_url)} is at revision {current}, which this version does not know",
        "it was migrated by a newer version: run that version, or downgrade the database "
        "with the newer version's `alembic downgrade`",
    )


def _sqlite_missing_table(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and "no such table" in str(exc.orig)
