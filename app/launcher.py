"""`fittrackee-oauth2 serve`: check everything an operator can get wrong, then run uvicorn.

In order: the settings load and validate, and the app is built once (as each worker will
build it); with `--migrate` the database is migrated (under
PostgreSQL's advisory lock, so replicas can all do it); the database must then be reachable
and at this version's head revision; with several workers (or `PROMETHEUS_MULTIPROC_DIR`
set) the metrics directory is emptied and handed to them. Each refusal is one `error:` line
and one `hint:` line (`app.startup_errors`), never a traceback.

Then the checking process replaces itself (`exec`, same PID, so Docker's signals reach the
server) with `python -m app.server`, which runs uvicorn. The fresh interpreter matters: the
metrics library picks its multiprocess mode when it is first imported (the checks import
it, before the directory is known), and the supervisor of several workers should not keep
the checks' memory.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from app import migrations
from app.config import Settings, set_for_child_processes
from app.main import create_app
from app.observability.logs import configure_logging
from app.observability.multiprocess import prepare_directory
from app.startup_errors import StartupError

METRICS_DIR_PREFIX = "fittrackee-oauth2-metrics"


def metrics_directory(settings: Settings) -> Path | None:
    """Where several workers keep their metrics: `PROMETHEUS_MULTIPROC_DIR`, else (with
    more than one worker) a folder of the system's temporary directory named for the port,
    so that a restart reuses (and empties) it rather than leaving one behind."""
    if not settings.metrics_enabled:
        return None
    if settings.prometheus_multiproc_dir:
        return Path(settings.prometheus_multiproc_dir)
    if settings.workers > 1:
        return Path(tempfile.gettempdir()) / f"{METRICS_DIR_PREFIX}-{settings.port}"
    return None


async def build_app_once(settings: Settings) -> None:
    """Build the app as each worker will, so that a refusal raised while building it (an
    `app.config.ConfigurationError`) is reported here, once, rather than by every worker."""
    app = create_app(settings)
    await app.state.services.db.dispose()
    await app.state.services.rate_limits.close()


def prepare(settings: Settings, *, migrate: bool) -> dict[str, str]:
    """Everything before the server starts; the environment the server needs on top."""
    asyncio.run(build_app_once(settings))
    if migrate:
        migrations.upgrade(settings)
    asyncio.run(migrations.require_head(settings))
    folder = metrics_directory(settings)
    if folder is None:
        return {}
    try:
        prepare_directory(folder)
    except OSError as exc:
        raise StartupError(
            f"cannot prepare the metrics directory {folder}: {exc.strerror}",
            "set PROMETHEUS_MULTIPROC_DIR to a folder this user may write",
        ) from None
    return {"PROMETHEUS_MULTIPROC_DIR": str(folder)}


def serve(settings: Settings, *, migrate: bool = False) -> None:
    """Check and prepare, then become the server (does not return unless refused)."""
    configure_logging(settings)
    environment = prepare(settings, migrate=migrate)
    set_for_child_processes(environment)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "app.server"])
