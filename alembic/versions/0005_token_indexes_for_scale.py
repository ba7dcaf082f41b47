"""fewer, composite indexes on the token table; the code keeps its family

Every index on `oauth2_tokens` is paid on each refresh (a rotation inserts a row), so the
table keeps only what its lookups need:
- the two hashes' unique indexes (validation, refresh, revocation, introspection);
- `(user_id, family_id, id)`: a family's newest row, the only one that can be live, found
  in one descent however often the family rotated (reuse detection, a replayed code); a
  user's grants; the users' ON DELETE CASCADE;
- `(client_id, user_id)`: an app's tokens (its ON DELETE CASCADE, revoking them all or one
  user's).
Gone: the single-column indexes on client_id, user_id, family_id and code_id, and the two on
the expiry times (`clean` now walks the table by id in bounded batches).

`oauth2_tokens.code_id` goes too: a code now keeps the `family_id` of the pairs it issued
(`oauth2_codes.family_id`, filled here from the tokens), which is what a replayed code
revokes (RFC 6749 §4.1.2). Deleting an expired code no longer touches the token table (it
was an ON DELETE SET NULL over an index).

On PostgreSQL the token table's fillfactor is set to 80: a rotation's UPDATE (rotated_at,
revoked_at, neither indexed) then finds room on its row's page for a HOT update, which
writes no index entry. SQLite rebuilds the token table (batch mode) to drop the column with
its foreign key, ids and AUTOINCREMENT kept.

The token table's hashes and family id are stored as their bytes (`bytea`/BLOB) instead of
hex text: 32 and 16 bytes instead of 64 and 32 characters, in the row and in the two hash
indexes (the largest, and written at random places by every refresh).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:00:00
"""

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic.operations import BatchOperations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENS = "oauth2_tokens"
OLD_INDEXES = {
    "ix_oauth2_tokens_access_expires_at": ["access_expires_at"],
    "ix_oauth2_tokens_client_id": ["client_id"],
    "ix_oauth2_tokens_family_id": ["family_id"],
    "ix_oauth2_tokens_refresh_expires_at": ["refresh_expires_at"],
    "ix_oauth2_tokens_user_id": ["user_id"],
}
NEW_INDEXES = {
    "ix_oauth2_tokens_user_id_family_id_id": ["user_id", "family_id", "id"],
    "ix_oauth2_tokens_client_id_user_id": ["client_id", "user_id"],
}
FILLFACTOR = 80


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


@contextmanager
def _rebuilding_tokens() -> Iterator[BatchOperations]:
    """Batch mode: on SQLite the token table is rebuilt, ids and AUTOINCREMENT kept. Its
    foreign keys make SQLAlchemy reflect `users`, whose expression index it cannot read
    (and does not need: that table is left as it is)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table(TOKENS, table_kwargs={"sqlite_autoincrement": True}) as batch:
            yield batch


# Spelled in hex by the code, stored as bytes (`app.db.types.HexDigest`).
BINARY = {"access_token_hash": 64, "refresh_token_hash": 64, "family_id": 32}


def upgrade() -> None:
    op.add_column("oauth2_codes", sa.Column("family_id", sa.LargeBinary(), nullable=True))
    family = "decode(t.family_id, 'hex')" if _postgresql() else "t.family_id"
    op.execute(
        f"UPDATE oauth2_codes SET family_id = (SELECT {family} FROM oauth2_tokens t"
        " WHERE t.code_id = oauth2_codes.id LIMIT 1) WHERE used_at IS NOT NULL"
    )
    if not _postgresql():
        _sqlite_rewrite("oauth2_codes", ["family_id"], bytes.fromhex)
        _sqlite_rewrite(TOKENS, list(BINARY), bytes.fromhex)
    with _rebuilding_tokens() as batch:
        for name in (*OLD_INDEXES, "ix_oauth2_tokens_code_id"):
            batch.drop_index(name)
        batch.drop_column("code_id")  # its foreign key goes with it
        for column, length in BINARY.items():
            batch.alter_column(
                column,
                type_=sa.LargeBinary(),
                existing_type=sa.String(length=length),
                postgresql_using=f"decode({column}, 'hex')",
            )
        for name, columns in NEW_INDEXES.items():
            batch.create_index(name, columns)
    if _postgresql():
        op.execute(f"ALTER TABLE {TOKENS} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if _postgresql():
        op.execute(f"ALTER TABLE {TOKENS} RESET (fillfactor)")
    else:
        _sqlite_rewrite(TOKENS, list(BINARY), bytes.hex)
        _sqlite_rewrite("oauth2_codes", ["family_id"], bytes.hex)
    with _rebuilding_tokens() as batch:
        for name in NEW_INDEXES:
            batch.drop_index(name)
        for column, length in BINARY.items():
            batch.alter_column(
                column,
                type_=sa.String(length=length),
                existing_type=sa.LargeBinary(),
                postgresql_using=f"encode({column}, 'hex')",
            )
        batch.add_column(sa.Column("code_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_oauth2_tokens_code_id", "oauth2_codes", ["code_id"], ["id"], ondelete="SET NULL"
        )
        for name, columns in {**OLD_INDEXES, "ix_oauth2_tokens_code_id": ["code_id"]}.items():
            batch.create_index(name, columns)
    family = "encode(c.family_id, 'hex')" if _postgresql() else "c.family_id"
    op.execute(
        f"UPDATE oauth2_tokens SET code_id = (SELECT c.id FROM oauth2_codes c"
        f" WHERE {family} = oauth2_tokens.family_id)"
    )
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): rebuilding oauth2_codes would drop
    # a parent table, which SQLite's foreign keys answer by nulling every code_id again.
    op.drop_column("oauth2_codes", "family_id")


def _sqlite_rewrite(table: str, columns: list[str], convert: Callable[[Any], Any]) -> None:
    """SQLite has no hex decoding before 3.41 (`unhex`): each row's values are converted
    here, hex text to bytes or back, in the migration's transaction."""
    conn = op.get_bind()
    names = ", ".join(columns)
    rows = conn.execute(sa.text(f"SELECT id, {names} FROM {table}")).all()
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    updates = [
        {
            "pk": pk,
            **{c: None if v is None else convert(v) for c, v in zip(columns, values, strict=True)},
        }
        for pk, *values in rows
    ]
    if updates:
        conn.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :pk"), updates)
