#!/usr/bin/env python3
"""What reuse detection and a replayed code cost, by the length of the family they revoke.

    .venv/bin/python bench/reuse_cost.py --dsn postgresql://postgres@127.0.0.1:5432/bench_oauth2

On a seeded database (`bench/seed.py`: families of 1 to 39 pairs, and some rotated 10 000
times), for the shortest and the longest family that have a rotated pair and a live one,
runs the repository's own statement (`REVOKE_FAMILY_OF_ROTATED`, compiled as the server's
lane compiles it) under `EXPLAIN (ANALYZE, BUFFERS)` inside a transaction that is rolled
back, several times, and prints the median execution time, the buffers it touched, and how
many pairs it revoked (once more, rolled back too). The
target (issue 14): the same cost for a family rotated 10 000 times as for one rotated once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.dialects import postgresql

from app.db.asyncpg_lane import compile_query
from app.db.repositories.tokens import REVOKE_FAMILY_OF_ROTATED

# A rotated pair (its refresh token, its client) of the shortest or the longest family
# whose newest pair is live.
FAMILY = """
    WITH families AS (
        SELECT user_id, family_id, count(*) AS rows, max(id) AS newest
        FROM oauth2_tokens GROUP BY user_id, family_id HAVING count(*) >= 2
    )
    SELECT f.rows, t.refresh_token_hash, t.client_id
    FROM families f
    JOIN oauth2_tokens head ON head.id = f.newest AND head.revoked_at IS NULL
    JOIN oauth2_tokens t ON t.user_id = f.user_id AND t.family_id = f.family_id
        AND t.rotated_at IS NOT NULL
    ORDER BY f.rows {order}, t.id
    LIMIT 1
"""


async def measure(conn: asyncpg.Connection, refresh_hash: str, client_pk: int, runs: int) -> dict:
    compiled = compile_query(REVOKE_FAMILY_OF_ROTATED, postgresql.asyncpg.dialect())  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    args = compiled.arguments({"hash": refresh_hash, "client_pk": client_pk, "p_now": now})
    times, buffers = [], []
    tx = conn.transaction()
    await tx.start()
    try:
        revoked = int((await conn.execute(compiled.sql, *args)).split()[-1])
    finally:
        await tx.rollback()
    for _ in range(runs):
        tx = conn.transaction()
        await tx.start()
        try:
            plan = await conn.fetchval(
                f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {compiled.sql}", *args
            )
        finally:
            await tx.rollback()
        top = json.loads(plan)[0]
        times.append(top["Execution Time"])
        node = top["Plan"]
        buffers.append(node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0))
    return {
        "ms": statistics.median(times),
        "buffers": statistics.median(buffers),
        "revoked": revoked,
    }


async def main(dsn: str, runs: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        print(f"{'family':>10}  {'rows':>6}  {'median ms':>9}  {'buffers':>7}  revoked")
        for label, order in (("shortest", "ASC"), ("longest", "DESC")):
            found = await conn.fetchrow(FAMILY.format(order=order))
            if found is None:
                raise SystemExit("no family with a rotated and a live pair: seed first")
            rows, stored_hash, client_pk = found
            # The lane takes the hash as the code spells it, hex (bytes in the table since 0005).
            refresh_hash = stored_hash.hex() if isinstance(stored_hash, bytes) else stored_hash
            m = await measure(conn, refresh_hash, client_pk, runs)
            print(f"{label:>10}  {rows:>6}  {m['ms']:>9.3f}  {m['buffers']:>7.0f}  {m['revoked']}")
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True, help="the project's database (postgresql://...)")
    parser.add_argument("--runs", type=int, default=21, help="runs per family (21)")
    options = parser.parse_args()
    asyncio.run(main(options.dsn, options.runs))
