"""One bulk `INSERT ... SELECT` into a table, fast: without its secondary indexes and foreign keys.

Maintaining eight B-trees row by row (two of them on random 64-character hashes) and checking
three foreign keys per row is what makes a 10-million-row insert take hours. Building each index
once, from a sort, after the rows are in, and validating each foreign key with one join, takes
minutes. Whatever the current migration defines comes back exactly: the definitions are read
from the catalog (`pg_indexes.indexdef`, `pg_get_constraintdef`) just before they are dropped,
and replayed after. The primary key stays (its index is referenced by other tables' foreign
keys), and so does any index another table's foreign key depends on.

All of it happens in one transaction: if anything fails, the table is as it was, indexes and
all. `VACUUM ANALYZE` follows (outside the transaction, as it must), so that the planner knows
the new size and index-only scans see an up-to-date visibility map.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import asyncpg

# Sorting 10 M hashes for an index build in 64 MB (the default) spills to disk many times over.
MAINTENANCE_WORK_MEM = "1GB"


@dataclass
class LoadReport:
    """What one table's load did and how long it took (seconds)."""

    table: str
    rows: int
    insert_s: float
    index_s: float
    vacuum_s: float
    indexes: int  # indexes dropped and rebuilt
    foreign_keys: int  # foreign keys dropped and re-validated

    @property
    def elapsed_s(self) -> float:
        return self.insert_s + self.index_s + self.vacuum_s

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.elapsed_s if self.elapsed_s else 0.0

    def line(self) -> str:
        return (
            f"{self.table:<16} {self.rows:>10} rows  {self.elapsed_s:>7.1f} s "
            f"({self.rows_per_s:>9.0f} rows/s; insert {self.insert_s:.1f} s, "
            f"{self.indexes} indexes + {self.foreign_keys} FKs {self.index_s:.1f} s, "
            f"vacuum analyze {self.vacuum_s:.1f} s)"
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "elapsed_s": self.elapsed_s, "rows_per_s": self.rows_per_s}


@dataclass
class _Saved:
    """The DDL to replay, in order: indexes, then unique constraints on them, then FKs."""

    drops: list[str]
    creates: list[str]
    indexes: int
    foreign_keys: int


async def _save_and_drop(conn: asyncpg.Connection, table: str) -> _Saved:
    rel = await conn.fetchval("SELECT to_regclass($1)::oid", table)
    if rel is None:
        raise RuntimeError(f"no table {table!r}: is the database migrated?")
    # Indexes some foreign key (of any table) relies on, and those behind a primary key or an
    # exclusion constraint, stay where they are.
    indexes = await conn.fetch(
        """
        SELECT ix.indexrelid::regclass::text AS name, pg_get_indexdef(ix.indexrelid) AS def,
               c.conname, c.contype
        FROM pg_index ix
        LEFT JOIN pg_constraint c ON c.conindid = ix.indexrelid AND c.conrelid = ix.indrelid
        WHERE ix.indrelid = $1 AND NOT ix.indisprimary
          AND coalesce(c.contype, 'u') = 'u'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                          WHERE f.contype = 'f' AND f.conindid = ix.indexrelid)
        ORDER BY 1
        """,
        rel,
    )
    fkeys = await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
        "WHERE conrelid = $1 AND contype = 'f' ORDER BY 1",
        rel,
    )
    quoted = f'"{table}"'
    drops = [f'ALTER TABLE {quoted} DROP CONSTRAINT "{fk["conname"]}"' for fk in fkeys]
    creates: list[str] = []
    attach: list[str] = []
    for ix in indexes:
        if ix["conname"] is not None:
            drops.append(f'ALTER TABLE {quoted} DROP CONSTRAINT "{ix["conname"]}"')
            attach.append(
                f'ALTER TABLE {quoted} ADD CONSTRAINT "{ix["conname"]}" '
                f"UNIQUE USING INDEX {ix['name']}"
            )
        else:
            drops.append(f"DROP INDEX {ix['name']}")
        creates.append(ix["def"])
    creates += attach
    creates += [
        f'ALTER TABLE {quoted} ADD CONSTRAINT "{fk["conname"]}" {fk["def"]}' for fk in fkeys
    ]
    for sql in drops:
        await conn.execute(sql)
    return _Saved(drops, creates, len(indexes), len(fkeys))


async def bulk_insert(conn: asyncpg.Connection, table: str, insert_sql: str) -> LoadReport:
    """Run `insert_sql` (an INSERT into `table`) with the table's secondary indexes and foreign
    keys dropped, rebuild them, move the table's id sequence past the new rows, then
    `VACUUM ANALYZE` it. `conn` must not be inside a transaction."""
    async with conn.transaction():
        await conn.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        saved = await _save_and_drop(conn, table)
        t0 = time.perf_counter()
        status = await conn.execute(insert_sql)
        t1 = time.perf_counter()
        for sql in saved.creates:
            await conn.execute(sql)
        sequence = await conn.fetchval(
            "SELECT pg_get_serial_sequence($1, 'id') WHERE EXISTS (SELECT 1 FROM "
            "information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = $1 AND column_name = 'id')",
            table,
        )
        if sequence is not None:  # the next id the application takes is above the seeded ones
            await conn.execute(
                f'SELECT setval($1, (SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)',
                sequence,
            )
        t2 = time.perf_counter()
    await conn.execute(f'VACUUM ANALYZE "{table}"')
    t3 = time.perf_counter()
    return LoadReport(
        table=table,
        rows=int(status.split()[-1]),
        insert_s=round(t1 - t0, 3),
        index_s=round(t2 - t1, 3),
        vacuum_s=round(t3 - t2, 3),
        indexes=saved.indexes,
        foreign_keys=saved.foreign_keys,
    )


async def has_column(conn: asyncpg.Connection, table: str, column: str) -> bool:
    """Whether `table` (in the search path's first schema) has `column` right now: the schema is
    changing under the bench (migrations in flight), so the seeder asks instead of assuming."""
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
            table,
            column,
        )
    )


async def column_type(conn: asyncpg.Connection, table: str, column: str) -> str | None:
    """`information_schema`'s data type of `table.column` (e.g. `bytea`), None if absent."""
    return await conn.fetchval(
        "SELECT data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
        table,
        column,
    )


async def max_id(conn: asyncpg.Connection, table: str) -> int:
    """The table's largest id (0 when empty): seeded rows get ids above it."""
    return int(await conn.fetchval(f'SELECT coalesce(max(id), 0) FROM "{table}"'))
