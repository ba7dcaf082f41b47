"""`fittrackee-oauth2`: the operator's command line (also `python -m app.cli`).

    fittrackee-oauth2 serve [--migrate] [--host HOST] [--port PORT] [--workers N]
    fittrackee-oauth2 migrate
    fittrackee-oauth2 create-user USERNAME EMAIL [--password PASSWORD]
    fittrackee-oauth2 clean [--days N] [--dry-run] [--batch N] [--rest R] [--quiet]
    fittrackee-oauth2 stats [--json]
    fittrackee-oauth2 --version

It reads the same settings as the server (`DATABASE_URL`, ...) and works on the same
database through the app's repositories, on SQLAlchemy's lane (`Database.for_tools`: no pool
kept, no statement timeout, so a long clean-up is not cut). `clean` is FitTrackee's
`ftcli oauth2 clean`: run it from cron; what it keeps and why is in
`app/db/repositories/maintenance.py`. A setting it cannot use or a database it cannot reach
is one `error:` line and a `hint:` on stderr (`app.startup_errors`): exit status 2 for a
setting, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TextIO

from pydantic import ValidationError

from app import __version__, clock, launcher, migrations
from app.accounts.service import AccountError
from app.config import ConfigurationError, Settings, get_settings, set_for_child_processes
from app.db.engine import Database
from app.db.errors import DatabaseUnavailable
from app.db.repositories.maintenance import MaintenanceRepository, Progress
from app.services import Services
from app.startup_errors import (
    DATABASE_FAILURES,
    StartupError,
    configuration_error,
    database_error,
    settings_error,
)

CLEANUP_LABELS = {
    "codes": "authorization codes",
    "tokens": "token pairs",
    "revoked_user_tokens": "logged-out user tokens",
}


class CommandError(Exception):
    """A failure to report on stderr with exit status 1."""


async def create_user(settings: Settings, username: str, email: str, password: str) -> int:
    """Register an account as `POST /api/auth/register` would, with the same rules and
    messages (the privacy policy counts as accepted by the operator); its id."""
    services = Services.build(settings, Database.for_tools(settings))
    try:
        return await services.accounts.register(
            username=username, email=email, password=password, accepted_policy=True
        )
    except AccountError as exc:
        raise CommandError(exc.message.strip()) from exc
    finally:
        await services.db.dispose()


async def clean(
    settings: Settings,
    *,
    days: int = 0,
    dry_run: bool = False,
    batch: int = 10_000,
    rest: float = 3.0,
    progress: Callable[[Progress], None] | None = None,
) -> dict[str, int]:
    """Delete (or, dry run, count) codes and tokens that expired or were revoked more than
    `days` days ago, and expired logged-out user tokens; the counts. Deleting goes in
    batches of `batch` rows, each committed on its own (`MaintenanceRepository`)."""
    db = Database.for_tools(settings)
    maintenance = MaintenanceRepository(db)
    before = clock.utcnow() - timedelta(days=days)
    try:
        if dry_run:
            result = await maintenance.count_removable(before=before)
        else:
            result = await maintenance.delete_removable(
                before=before, batch=batch, rest=rest, progress=progress
            )
    finally:
        await db.dispose()
    return result.as_dict()


class ProgressLines:
    """`clean`'s progress on stderr: a line per table at most once a second, and its last."""

    def __init__(self, err: TextIO, interval: float = 1.0) -> None:
        self._err, self._interval = err, interval
        self._table, self._shown = "", 0.0

    def __call__(self, step: Progress) -> None:
        now = time.monotonic()
        finished = step.total > 0 and step.done >= step.total
        if step.table == self._table and not finished and now - self._shown < self._interval:
            return
        self._table, self._shown = step.table, now
        share = f" ({100 * step.done // step.total}%)" if step.total else ""
        walked = f", {step.done:,} of {step.total:,} ids walked{share}"
        detail = walked if step.table == "oauth2_tokens" else ""
        print(f"clean: {step.table}: {step.deleted:,} deleted{detail}", file=self._err)


async def stats(settings: Settings) -> dict[str, int]:
    db = Database.for_tools(settings)
    try:
        result = await MaintenanceRepository(db).stats(now=clock.utcnow())
    finally:
        await db.dispose()
    return result.as_dict()


def read_password(stdin: TextIO) -> str:
    """Prompted twice on a terminal; otherwise the first line of standard input (scripts)."""
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        raise CommandError("passwords do not match")
    return first


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="fittrackee-oauth2", description="Operate the FitTrackee OAuth2 server."
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    server = commands.add_parser(
        "serve",
        help="check the settings and the database, then serve (uvicorn)",
        description="Check the settings, the database and its schema, then serve. Flags "
        "override the HOST, PORT and WORKERS settings.",
    )
    server.add_argument(
        "--migrate", action="store_true", help="migrate the database to this version first"
    )
    server.add_argument("--host", help="address to listen on (HOST)")
    server.add_argument("--port", type=int, help="TCP port to listen on (PORT)")
    server.add_argument("--workers", type=int, help="worker processes (WORKERS)")

    commands.add_parser("migrate", help="migrate the database to this version (alembic)")

    user = commands.add_parser("create-user", help="create an active user account")
    user.add_argument("username")
    user.add_argument("email")
    user.add_argument(
        "--password",
        help="the password (visible in the process list and shell history: prefer the "
        "prompt, or a line on standard input)",
    )

    cleanup = commands.add_parser(
        "clean", help="delete expired or revoked authorization codes and tokens"
    )
    cleanup.add_argument(
        "--days",
        type=int,
        default=0,
        help="keep what expired or was revoked less than this many days ago (default 0)",
    )
    cleanup.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
    )
    cleanup.add_argument(
        "--batch",
        type=int,
        default=10_000,
        help="rows per batch, each deleted in a statement of its own (default 10000)",
    )
    cleanup.add_argument(
        "--rest",
        type=float,
        default=3.0,
        help="after each batch, wait this many times as long as it took, leaving the "
        "database to the server meanwhile (default 3: a quarter of the time is clean's; "
        "0: flat out)",
    )
    cleanup.add_argument(
        "--quiet", action="store_true", help="no progress lines on stderr, only the counts"
    )

    counts = commands.add_parser(
        "stats", help="count users, clients, and live/expired/revoked tokens and codes"
    )
    counts.add_argument("--json", action="store_true", help="one JSON object")
    return top


def main(
    argv: Sequence[str] | None = None,
    settings: Settings | None = None,
    stdout: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """The console script; its exit status: 0 done, 1 refused (the reason on stderr), 2 a
    usage error or a setting it cannot use."""
    args = parser().parse_args(argv)
    out = stdout or sys.stdout
    try:
        if args.command == "serve":
            overrides = {"HOST": args.host, "PORT": args.port, "WORKERS": args.workers}
            set_for_child_processes({k: str(v) for k, v in overrides.items() if v is not None})
        settings = settings or load_settings()
    except StartupError as exc:
        sys.stderr.write(exc.lines())
        return exc.status
    try:
        if args.command == "serve":
            launcher.serve(settings, migrate=args.migrate)
        elif args.command == "migrate":
            migrations.upgrade(settings)
            print("the database is at this version's schema", file=out)
        elif args.command == "create-user":
            password = (
                args.password if args.password is not None else read_password(stdin or sys.stdin)
            )
            user_id = asyncio.run(create_user(settings, args.username, args.email, password))
            print(f"created user {args.username} (id {user_id})", file=out)
        elif args.command == "clean":
            if args.days < 0:
                raise CommandError("--days must be 0 or more")
            if args.batch < 1:
                raise CommandError("--batch must be 1 or more")
            if not args.rest >= 0:  # NaN too
                raise CommandError("--rest must be 0 or more")
            progress = None if args.quiet else ProgressLines(sys.stderr)
            try:
                counts = asyncio.run(
                    clean(
                        settings,
                        days=args.days,
                        dry_run=args.dry_run,
                        batch=args.batch,
                        rest=args.rest,
                        progress=progress,
                    )
                )
            except KeyboardInterrupt:
                print(
                    "clean: interrupted; what was deleted stays deleted, run it again to go on",
                    file=sys.stderr,
                )
                return 130
            verb = "would delete" if args.dry_run else "deleted"
            for key, label in CLEANUP_LABELS.items():
                print(f"{verb} {counts[key]} {label}", file=out)
        else:
            counts = asyncio.run(stats(settings))
            if args.json:
                print(json.dumps(counts), file=out)
            else:
                for key, value in counts.items():
                    print(f"{key.replace('_', ' ')}: {value}", file=out)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except StartupError as exc:
        sys.stderr.write(exc.lines())
        return exc.status
    except ConfigurationError as exc:
        sys.stderr.write(configuration_error(exc).lines())
        return 2
    except DATABASE_FAILURES as exc:
        sys.stderr.write(database_error(exc, settings.database_url).lines())
        return 1
    except DatabaseUnavailable as exc:
        sys.stderr.write(database_error(exc.__cause__ or exc, settings.database_url).lines())
        return 1
    return 0


def load_settings() -> Settings:
    """The settings, or a StartupError saying in one line which one is wrong."""
    try:
        return get_settings()
    except ValidationError as exc:
        raise settings_error(exc) from None
    except ConfigurationError as exc:
        raise configuration_error(exc) from None


if __name__ == "__main__":
    sys.exit(main())
