"""The database's failures as the rest of the app sees them: one family for both lanes.

The two lanes (`app.db.asyncpg_lane`, `app.db.sqlalchemy_lane`) translate what the drivers
raise into these; the API maps them (`app.api.errors`): `DatabaseUnavailable` is a 503 with
Retry-After. Any other error out of a statement is a bug, left as it is, and ends as a 500.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc as sa_exc


class DatabaseUnavailable(Exception):
    """The database cannot serve now: down, unreachable, restarting, out of connections, or
    not answering within the pool, connect or statement timeout."""


class ConstraintViolation(Exception):
    """A write refused by an integrity constraint (a unique value already taken, ...); the
    message is the driver's, which names the constraint or the column."""


# SQLSTATEs that say "the server cannot serve you now": connection exceptions (class 08),
# administrator/crash shutdown, "cannot connect now" (starting or stopping), too many
# clients, and a statement cancelled (the server's answer to a timed-out statement).
UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "57014")
INTEGRITY_SQLSTATES = ("23",)


def from_asyncpg(exc: BaseException, *, connection_closed: bool) -> Exception | None:
    """Ours for an error of asyncpg (or of the socket under it), None for a bug.

    `connection_closed`: the connection died under the statement; asyncpg then raises an
    `InterfaceError` ("connection is closed"), a class it also uses for misuse. An
    `InternalClientError` ("cannot switch to state ...") is what a pooled connection gives
    when the server ended its session while it was idle (a shutdown's FATAL message not yet
    read): that connection is dead too.
    """
    if isinstance(exc, OSError | asyncpg.exceptions.InternalClientError) or connection_closed:
        return DatabaseUnavailable(f"{type(exc).__name__}: {exc}")
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(exc, asyncpg.PostgresError) and isinstance(sqlstate, str):
        if sqlstate.startswith(UNAVAILABLE_SQLSTATES):
            return DatabaseUnavailable(f"{type(exc).__name__}: {exc}")
        if sqlstate.startswith(INTEGRITY_SQLSTATES):
            return ConstraintViolation(str(exc))
    return None


def from_sqlalchemy(exc: BaseException) -> Exception | None:
    """Ours for an error SQLAlchemy raised (SQLite, or the tools' PostgreSQL engine)."""
    if isinstance(exc, sa_exc.TimeoutError | OSError):
        return DatabaseUnavailable(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, sa_exc.IntegrityError):
        return ConstraintViolation(str(exc.orig))
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    if exc.connection_invalidated or isinstance(
        exc, sa_exc.OperationalError | sa_exc.InterfaceError
    ):
        return DatabaseUnavailable(f"{type(exc).__name__}: {exc.orig}")
    driver_error = exc.orig
    sqlstate = getattr(driver_error, "sqlstate", None) or getattr(driver_error, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATES):
        return DatabaseUnavailable(f"{type(exc).__name__}: {driver_error}")
    cause = driver_error.__cause__ if driver_error is not None else None
    if isinstance(cause, OSError):
        return DatabaseUnavailable(f"{type(exc).__name__}: {cause}")
    return None
