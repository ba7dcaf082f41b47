#!/usr/bin/env python3
"""Database work per operation: transactions, rows and new connections, from pg_stat_database.

    .venv/bin/python bench/dbstats.py --server floor      # starts it (port 5100, CPU 0)
    .venv/bin/python bench/dbstats.py --server project    # starts it (port 5200, CPU 0)
    .venv/bin/python bench/dbstats.py --url URL --database NAME   # a server already running

For each workload: a short load, then the counters of the server's database divided by the
operations served. In autocommit every statement is its own transaction, so `xacts/op` counts
statements there; `sessions/op` counts new PostgreSQL connections (each one a backend fork,
authentication and, with SQLAlchemy, a few set-up queries), which a steady pool should not
open at all. PostgreSQL publishes a backend's counters at most once a second and an idle
backend's ~10 s later, so each reading waits --settle seconds first.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess

import fixtures
from run import parse_workloads, pin, use_uvloop
from servers import Floor, Project
from workloads import NAMES, run_workload

COUNTERS = (
    "xact_commit + xact_rollback",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
    "sessions",
)
LABELS = ("xacts", "rollbacks", "returned", "fetched", "inserted", "updated", "deleted", "sessions")


def counters(pg: str, database: str) -> list[int]:
    sql = f"SELECT {', '.join(COUNTERS)} FROM pg_stat_database WHERE datname = '{database}'"
    out = subprocess.run(
        ["psql", f"{pg}/postgres", "-qtAX", "-F", " ", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return [int(v) for v in out]


async def measure(args: argparse.Namespace, url: str, database: str) -> None:
    fx = await fixtures.prepare(url, args.workloads, args.concurrency)
    print(f"{'workload':<12} {'ops':>7} " + " ".join(f"{label + '/op':>12}" for label in LABELS))
    for w in fx.ready(args.workloads):
        await asyncio.sleep(args.settle)
        before = counters(args.pg, database)
        r = await run_workload(w, url, fx, args.duration, args.concurrency)
        await asyncio.sleep(args.settle)
        after = counters(args.pg, database)
        per_op = [(b - a) / max(1, r.operations) for a, b in zip(before, after, strict=True)]
        print(f"{NAMES[w]:<12} {r.operations:>7d} " + " ".join(f"{v:>12.2f}" for v in per_op))
    for w, why in fx.skipped.items():
        print(f"{w} left out: {why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", choices=("floor", "project"), default=None)
    parser.add_argument("--url", default=None)
    parser.add_argument("--database", default=None, help="the server's database (with --url)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--workloads", type=parse_workloads, default=["W1", "W2", "W3", "W4"])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--settle", type=float, default=11.0, help="seconds before a reading")
    parser.add_argument("--client-cpu", type=int, default=1)
    args = parser.parse_args()
    use_uvloop()
    if args.url:
        if not args.database:
            parser.error("--url needs --database")
        pin(args.client_cpu)
        asyncio.run(measure(args, args.url, args.database))
        return
    if args.server is None:
        parser.error("give --server floor|project, or --url and --database")
    server = Floor() if args.server == "floor" else Project(database="bench_dbstats")
    database = "floor" if args.server == "floor" else "bench_dbstats"
    server.start()
    try:
        pin(args.client_cpu)
        asyncio.run(measure(args, server.url, database))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
