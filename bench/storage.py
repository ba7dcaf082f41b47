#!/usr/bin/env python3
"""What the token table costs on disk: its size, each index's, and bytes per live session.

    .venv/bin/python bench/storage.py --dsn postgresql://postgres@127.0.0.1:5432/bench_oauth2
    .venv/bin/python bench/storage.py --dsn ... --clean [--vacuum-full] [--json out.json]

Prints, for `oauth2_tokens`: the heap (main fork), TOAST, free-space and visibility maps,
each index with `pg_relation_size`, the rows, live pairs (not revoked, one of the two tokens
unexpired), families, live families (with a live pair), rows per family (mean, p99, max), and
bytes per live session = (the table with its TOAST and maps + every index) / live families:
what one signed-in app costs the database, history included.

`--clean` measures, runs `fittrackee-oauth2 clean` (DATABASE_URL=postgresql+asyncpg://...,
its output printed), then `VACUUM ANALYZE` (what autovacuum would do next: the space of the
deleted rows becomes reusable, but the files keep their size), and measures again: the
"after" figures are rows per family after `clean` and what the table still occupies.
`--vacuum-full` then rewrites the table and its indexes and measures a third time: the size
the live rows alone need.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

import asyncpg
from servers import ROOT

TABLE = "oauth2_tokens"
SIZES = """
SELECT pg_relation_size(c.oid, 'main') AS heap,
       coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) AS toast,
       pg_relation_size(c.oid, 'fsm') + pg_relation_size(c.oid, 'vm') AS maps,
       pg_table_size(c.oid) AS table_bytes, pg_indexes_size(c.oid) AS index_bytes,
       pg_total_relation_size(c.oid) AS total
FROM pg_class c WHERE c.oid = $1::regclass
"""
INDEXES = """
SELECT i.indexrelid::regclass::text AS name, pg_relation_size(i.indexrelid) AS bytes,
       pg_get_indexdef(i.indexrelid) AS def
FROM pg_index i WHERE i.indrelid = $1::regclass ORDER BY 1
"""
COUNTS = f"""
SELECT count(*) AS rows,
       count(*) FILTER (WHERE live) AS live_pairs,
       count(DISTINCT family_id) AS families,
       count(DISTINCT family_id) FILTER (WHERE live) AS live_families
FROM (SELECT family_id, revoked_at IS NULL
             AND (access_expires_at > now() OR refresh_expires_at > now()) AS live
      FROM {TABLE}) AS t
"""
PER_FAMILY = f"""
SELECT avg(n)::float AS mean, percentile_disc(0.99) WITHIN GROUP (ORDER BY n) AS p99,
       max(n) AS max
FROM (SELECT count(*) AS n FROM {TABLE} GROUP BY family_id) AS f
"""


async def measure(dsn: str) -> dict:
    """One snapshot of the token table's sizes and counts."""
    conn = await asyncpg.connect(dsn)
    try:
        sizes = dict(await conn.fetchrow(SIZES, TABLE))
        indexes = [dict(r) for r in await conn.fetch(INDEXES, TABLE)]
        counts = dict(await conn.fetchrow(COUNTS))
        per_family = dict(await conn.fetchrow(PER_FAMILY))
    finally:
        await conn.close()
    live = counts["live_families"]
    return {
        **sizes,
        "indexes": indexes,
        **counts,
        "rows_per_family": per_family,
        "bytes_per_live_session": (sizes["table_bytes"] + sizes["index_bytes"]) / live
        if live
        else None,
    }


async def run_clean(dsn: str, extra: list[str]) -> dict:
    """`fittrackee-oauth2 clean` on that database; its exit status, time and output."""
    env = {**os.environ, "DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://", 1)}
    cmd = [str(ROOT / ".venv" / "bin" / "fittrackee-oauth2"), "clean", *extra]
    print(f"running {' '.join(cmd[-1 - len(extra) :])} ...", flush=True)
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *cmd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    elapsed = time.perf_counter() - t0
    text = out.decode(errors="replace")
    for line in text.splitlines():
        print(f"  [clean] {line}")
    print(f"  clean exited {proc.returncode} after {elapsed:.1f} s", flush=True)
    return {"exit_code": proc.returncode, "elapsed_s": round(elapsed, 2), "output": text}


async def vacuum(dsn: str, full: bool) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        t0 = time.perf_counter()
        await conn.execute(f"VACUUM {'(FULL, ANALYZE)' if full else 'ANALYZE'} {TABLE}")
        return time.perf_counter() - t0
    finally:
        await conn.close()


def human(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def table(snapshots: dict[str, dict]) -> str:
    """The snapshots side by side, one column each."""
    names = list(snapshots)
    snaps = list(snapshots.values())
    rows: list[tuple[str, list[str]]] = [
        ("heap (main fork)", [human(s["heap"]) for s in snaps]),
        ("TOAST", [human(s["toast"]) for s in snaps]),
        ("free-space + visibility maps", [human(s["maps"]) for s in snaps]),
    ]
    for ix in snaps[0]["indexes"]:
        by_name = [{i["name"]: i["bytes"] for i in s["indexes"]}.get(ix["name"]) for s in snaps]
        rows.append((f"  index {ix['name']}", [human(b) for b in by_name]))
    rows += [
        ("indexes, all", [human(s["index_bytes"]) for s in snaps]),
        ("total", [human(s["total"]) for s in snaps]),
        ("rows", [str(s["rows"]) for s in snaps]),
        ("live pairs", [str(s["live_pairs"]) for s in snaps]),
        ("families", [str(s["families"]) for s in snaps]),
        ("live families (sessions)", [str(s["live_families"]) for s in snaps]),
        (
            "rows per family mean/p99/max",
            [
                "-"
                if s["rows_per_family"]["max"] is None
                else f"{s['rows_per_family']['mean']:.1f}/{s['rows_per_family']['p99']}/"
                f"{s['rows_per_family']['max']}"
                for s in snaps
            ],
        ),
        ("bytes per live session", [human(s["bytes_per_live_session"]) for s in snaps]),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{TABLE:<{width}}" + "".join(f"{n:>18}" for n in names)]
    lines += [f"{label:<{width}}" + "".join(f"{c:>18}" for c in cells) for label, cells in rows]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict:
    snapshots = {"now" if not args.clean else "before clean": await measure(args.dsn)}
    out: dict = {"dsn_database": args.dsn.rsplit("/", 1)[-1]}
    if args.clean:
        out["clean"] = await run_clean(args.dsn, args.clean_arg)
        out["vacuum_s"] = round(await vacuum(args.dsn, full=False), 2)
        print(f"  VACUUM ANALYZE {out['vacuum_s']} s", flush=True)
        snapshots["after clean"] = await measure(args.dsn)
        if args.vacuum_full:
            out["vacuum_full_s"] = round(await vacuum(args.dsn, full=True), 2)
            print(f"  VACUUM FULL {out['vacuum_full_s']} s", flush=True)
            snapshots["after VACUUM FULL"] = await measure(args.dsn)
    out["snapshots"] = snapshots
    print(table(snapshots))
    print("(bytes per live session = (table + TOAST + maps + every index) / live families)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", required=True, help="the project's database (postgresql://...)")
    parser.add_argument("--clean", action="store_true", help="measure, clean, measure again")
    parser.add_argument(
        "--clean-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an argument for `fittrackee-oauth2 clean` (repeatable), e.g. --clean-arg=--days=0",
    )
    parser.add_argument("--vacuum-full", action="store_true", help="after --clean, VACUUM FULL")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.vacuum_full and not args.clean:
        parser.error("--vacuum-full goes with --clean")
    out = asyncio.run(main_async(args))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
