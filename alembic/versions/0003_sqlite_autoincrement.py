"""integer ids never reused on SQLite (AUTOINCREMENT)

Without AUTOINCREMENT, SQLite gives a new row the largest id in use plus one, so deleting the
newest app frees its id for the next one and a stale `/api/oauth/apps/<id>/by_id` names
another app. SQLite cannot add AUTOINCREMENT to a table: each table with an integer id is
rebuilt (batch mode: copy, drop, rename), rows and ids kept; `sqlite_sequence` then starts
from the largest id there. PostgreSQL's sequences never go back: nothing to do there.

Foreign keys are switched off while the tables are rebuilt, as SQLite's procedure for schema
changes says (https://sqlite.org/lang_altertable.html#otheralter): dropping a parent table with
them on would delete its children through ON DELETE CASCADE. The rebuild is one transaction,
opened here because the sqlite3 module opens none before DDL; the foreign keys are checked
before it commits, and switched on again after.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:00:00
"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Parents first; each of these has an INTEGER PRIMARY KEY `id`.
TABLES = ("users", "oauth2_clients", "oauth2_codes", "oauth2_tokens")


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)


def _rebuild(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.get_context().autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
    op.execute("BEGIN")  # committed (or rolled back) with alembic's transaction
    for table in TABLES:
        with (
            warnings.catch_warnings(),
            op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
            ),
        ):
            # SQLAlchemy cannot reflect the expression index on `users`; it is made again below.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
    op.create_index(
        "uq_users_username_lower", "users", [sa.func.lower(sa.column("username"))], unique=True
    )
    broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the rebuild, rolled back: {broken[:5]}")
    with op.get_context().autocommit_block():
        op.execute("PRAGMA foreign_keys=ON")
