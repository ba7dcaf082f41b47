"""The schema's version: migrate the database to head (alembic), and check it is there.

The migrations live beside the package (`alembic.ini`, `alembic/`): in a checkout, and in
the Docker image's `/srv`; they are looked for next to the `app` package first, then in the
working directory. `alembic/env.py` takes a PostgreSQL advisory lock around the upgrade, so
replicas that start together migrate one after the other.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import text

from alembic import command
from app.config import Settings
from app.db.engine import make_engine
from app.startup_errors import (
    DATABASE_FAILURES,
    StartupError,
    database_error,
    not_migrated,
    unknown_revision,
)

ALEMBIC_INI = "alembic.ini"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration for this database, logging left to the caller's set-up."""
    for folder in (PROJECT_ROOT, Path.cwd()):
        ini = folder / ALEMBIC_INI
        if ini.is_file():
            break
    else:
        raise StartupError(
            f"the migrations ({ALEMBIC_INI}, alembic/) are not beside the app package nor in "
            "the working directory",
            "run the command from the project's folder (the Docker image's is /srv)",
        )
    config = Config(str(ini))
    config.set_main_option("script_location", str(ini.parent / "alembic"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def upgrade(settings: Settings) -> None:
    """`alembic upgrade head`, with its failures as one line."""
    try:
        command.upgrade(alembic_config(settings.database_url), "head")
    except DATABASE_FAILURES as exc:
        raise database_error(exc, settings.database_url) from None
    except CommandError as exc:
        raise StartupError(f"the migration failed: {exc}", "check the log above") from None


async def require_head(settings: Settings) -> None:
    """Connect, and refuse (one line) a database that is missing, unreachable, or not at
    this version's head revision."""
    heads = set(ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads())
    try:
        engine = make_engine(settings)
    except DATABASE_FAILURES as exc:
        raise database_error(exc, settings.database_url) from None
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            current = {row[0] for row in rows}
    except DATABASE_FAILURES as exc:
        raise database_error(exc, settings.database_url) from None
    finally:
        await engine.dispose()
    if current == heads:
        return
    head = ", ".join(sorted(heads))
    if not current:
        raise not_migrated(settings.database_url, head=head)
    script = ScriptDirectory.from_config(alembic_config(settings.database_url))
    unknown = [revision for revision in current if not _known(script, revision)]
    if unknown:
        raise unknown_revision(settings.database_url, ", ".join(sorted(unknown)))
    raise not_migrated(settings.database_url, ", ".join(sorted(current)), head)


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False
