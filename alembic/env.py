"""Alembic environment: runs migrations over the app's async engine (SQLite or PostgreSQL).

On PostgreSQL the whole upgrade holds a transaction-level advisory lock: replicas that start
together (each running `fittrackee-oauth2 serve --migrate`) queue on it, and each one after
the first finds the schema at head and has nothing to do.
"""

from __future__ import annotations

import asyncio
import sys
from logging.config import fileConfig

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alembic import context
from app.config import ConfigurationError, Settings
from app.db.engine import make_engine
from app.db.models import Base

# Any constant bigint, the same for every process migrating this schema.
MIGRATION_LOCK_KEY = 0x0F17_7AC3_2013

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    """The app's database; settings the service cannot start with stop here in one line."""
    if config.attributes.get("database_url"):
        return config.attributes["database_url"]
    try:
        return Settings.load().database_url
    except ConfigurationError as exc:
        sys.exit(f"fittrackee-oauth2: {exc}")


def run_sync(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Released at commit; taken before alembic reads the current revision.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


async def run_async() -> None:
    engine = make_engine(Settings(database_url=database_url()))
    async with engine.connect() as connection:
        await connection.run_sync(run_sync)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async())
