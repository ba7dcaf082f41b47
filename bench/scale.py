#!/usr/bin/env python3
"""Scale run: every workload's rate and p50/p99 at growing numbers of stored token rows, the
project and the floor on the same data, one worker each, in one session.

    .venv/bin/python bench/scale.py --sizes 10k,1M,10M --json /tmp/scale.json --chart /tmp/scale.png
    .venv/bin/python bench/scale.py --from-json /tmp/scale.json --chart /tmp/scale.png  # redraw

Per size: the project's database is re-created and migrated (servers.Project), the floor's is
reset by its start.sh (RESET=1), both are seeded to that many token rows by seed.py (same mix
on both), then the servers are measured alternately as compare.py does (its `alternate`: one
server at a time, pinned, order reversed every repeat). The question is whether the hot paths
stay flat as the tables grow: the targets are a rate at least 0.9 of the smallest database's
and a p99 at most 1.5 times its p99, per server; project/floor is printed per size too.

`--keep` reuses what is already seeded when its seeded row count is the size asked (the
workloads' own rows, made through the API, are not counted), so one size can be measured
again without seeding; `--drop` removes the data at the end (the project's database dropped,
the floor's tables emptied).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import scale_chart
import seed
from compare import alternate, start
from run import add_load_arguments, fmt, median_table, medians, pin, use_uvloop
from servers import DEFAULT_FLOOR_DIR, ROOT, Floor, Project
from workloads import NAMES, Result

RATE_MIN = 0.9  # rate at a size / rate at the smallest size, at least
P99_MAX = 1.5  # p99 at a size / p99 at the smallest size, at most
SUFFIX = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
DEFAULT_FLOOR_DSN = "postgresql://floor:floor@127.0.0.1:5432/floor"  # what start.sh creates


def parse_sizes(text: str) -> list[int]:
    """`10000,1000000` or `10k,1M`: sorted, distinct, positive."""
    sizes = set()
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        mult = SUFFIX.get(part[-1], 1)
        number = part[:-1] if part[-1] in SUFFIX else part
        try:
            size = round(float(number) * mult)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a size: {part!r} (e.g. 10k, 1M)") from None
        if size < 1:
            raise argparse.ArgumentTypeError(f"a size is at least 1: {part!r}")
        sizes.add(size)
    if not sizes:
        raise argparse.ArgumentTypeError("no sizes")
    return sorted(sizes)


def project_dsn(project: Project) -> str:
    return f"{project.pg}/{project.database}"


async def _seeded(dsn: str, floor: bool) -> int:
    """Seeded token rows there now; 0 if the database (or its role) is not there yet."""
    try:
        return await seed.seeded_tokens(dsn, floor=floor)
    except (OSError, asyncpg.PostgresError):
        return 0


async def prepare(
    project: Project, floor: Floor, plan: seed.Plan, args: argparse.Namespace
) -> dict:
    """Both databases holding `plan.tokens` seeded token rows; what was done and how long."""
    out: dict = {}
    if args.keep and await _seeded(project_dsn(project), floor=False) == plan.tokens:
        print(f"project: keeping its {plan.tokens} seeded token rows", flush=True)
        out["project"] = "kept"
    else:
        project.recreate_database()
        reports = await seed.seed_project(project_dsn(project), plan)
        out["project"] = [r.as_dict() for r in reports]
    if args.keep and await _seeded(args.floor_dsn, floor=True) == plan.tokens:
        print(f"floor: keeping its {plan.tokens} seeded token rows", flush=True)
        out["floor"] = "kept"
    else:
        floor.reset = True  # start.sh with RESET=1 makes its schema afresh, then it is seeded
        start(floor, args.client_cpu)
        floor.stop()
        reports = await seed.seed_floor(args.floor_dsn, plan)
        out["floor"] = [r.as_dict() for r in reports]
    floor.reset = False  # from here on the floor starts on the seeded data
    return out


async def measure_size(size: int, args: argparse.Namespace) -> dict:
    plan = seed.Plan(
        size,
        seed.fit_long_families(size, args.long_families, args.long_length),
        args.long_length,
        args.expired_percent,
        args.revoked_percent,
    )
    print(f"\n=== {size} stored token rows: {plan.as_dict()}", flush=True)
    project = Project(
        port=args.project_port,
        cpu=args.server_cpu,
        database=args.database,
        extra_env=args.env,
        pg=args.pg,
        fresh_db=False,
    )
    floor = Floor(port=args.floor_port, cpu=args.server_cpu, floor_dir=args.floor_dir, reset=False)
    t0 = time.perf_counter()
    seeding = await prepare(project, floor, plan, args)
    seeding["elapsed_s"] = round(time.perf_counter() - t0, 1)
    servers: dict[str, Floor | Project] = {"floor": floor, "project": project}
    names = [s for s in ("floor", "project") if s in args.servers]
    results = await alternate(servers, names, args)
    print(f"\n{size} rows, median of {args.repeats} (ratio = project/floor):")
    print(median_table(results, args.workloads, names, ("project", "floor")))
    return {
        "size": size,
        "plan": plan.as_dict(),
        "seed": seeding,
        "runs": [r.as_dict() for r in results],
    }


def results_of(entry: dict) -> list[Result]:
    return [Result(**run) for run in entry["runs"]]


def scale_table(entries: list[dict], workloads: list[str]) -> str:
    """Per workload and server, the medians at each size and their ratio to the smallest size,
    against the targets; then project/floor per size."""
    by_size = {e["size"]: medians(results_of(e)) for e in entries}
    sizes = sorted(by_size)
    servers = sorted({s for med in by_size.values() for s, _ in med})
    lines = [
        f"{'workload':<12} {'server':<8} {'rows':>10} {'rate/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'rate/small':>10} {'p99/small':>10}"
    ]
    for w in workloads:
        for s in servers:
            small = by_size[sizes[0]].get((s, w))
            for size in sizes:
                m = by_size[size].get((s, w))
                if m is None:
                    continue
                cells = f"{'':>10} {'':>10}"
                if size != sizes[0] and small and small["rate"] and small["p99_ms"]:
                    rate, p99 = (
                        (m["rate"] or 0) / small["rate"],
                        (m["p99_ms"] or 0) / small["p99_ms"],
                    )
                    ok = rate >= RATE_MIN and p99 <= P99_MAX and not m["errors"]
                    cells = f"{rate:>10.2f} {p99:>10.2f}  " + ("MEETS" if ok else "MISSES")
                lines.append(
                    f"{NAMES[w]:<12} {s:<8} {size:>10} {fmt(m['rate'], '>8.1f')} "
                    f"{fmt(m['p50_ms'], '>8.2f')} {fmt(m['p99_ms'], '>8.2f')} "
                    f"{fmt(m['errors'], '>7.0f')} {cells}"
                )
    lines.append(
        f"(targets: rate >= {RATE_MIN} x and p99 <= {P99_MAX} x the smallest size's, no errors)"
    )
    lines.append(f"\n{'project/floor':<21} {'rows':>10} {'rate':>8} {'p99':>8}")
    for w in workloads:
        for size in sizes:
            p, f = by_size[size].get(("project", w)), by_size[size].get(("floor", w))
            if p and f and f["rate"] and f["p99_ms"]:
                lines.append(
                    f"{NAMES[w]:<21} {size:>10} {(p['rate'] or 0) / f['rate']:>8.2f} "
                    f"{(p['p99_ms'] or 0) / f['p99_ms']:>8.2f}"
                )
    return "\n".join(lines)


def chart(payload: dict, path: Path) -> None:
    points: dict[tuple[str, str], list[tuple[int, float, float]]] = {}
    for entry in payload["sizes"]:
        for (server, w), m in medians(results_of(entry)).items():
            if m["rate"] is not None and m["p99_ms"] is not None:
                points.setdefault((server, w), []).append((entry["size"], m["rate"], m["p99_ms"]))
    repeats = payload.get("repeats", "?")
    title = (
        f"rate and p99 against stored token rows: one worker each, median of {repeats}, "
        f"{payload.get('duration', '?')} s runs (commit {payload.get('commit', '?')})"
    )
    scale_chart.draw(points, payload["workloads"], path, title)
    print(f"chart: {path}")


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


async def drop_data(args: argparse.Namespace) -> None:
    """The project's database dropped, the floor's tables emptied (its database stays)."""
    admin = await asyncpg.connect(f"{args.pg}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    finally:
        await admin.close()
    conn = await asyncpg.connect(args.floor_dsn)
    try:
        await conn.execute("TRUNCATE tokens, codes, clients, users")
    finally:
        await conn.close()
    print(f"dropped database {args.database}; emptied the floor's tables")


async def main_async(args: argparse.Namespace) -> dict:
    payload = {
        "command": "scale",
        "argv": sys.argv,
        "commit": git_commit(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "workloads": args.workloads,
        "repeats": args.repeats,
        "duration": args.duration,
        "concurrency": args.concurrency,
        "load_average_start": os.getloadavg()[0],
        "sizes": [],
    }
    try:
        for size in args.sizes:
            payload["sizes"].append(await measure_size(size, args))
            if args.json:  # written after every size, so a long run interrupted keeps its part
                args.json.write_text(json.dumps(payload, indent=2) + "\n")
    finally:
        if args.drop:
            await drop_data(args)
    payload["load_average_end"] = os.getloadavg()[0]
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_load_arguments(parser)
    seed.add_plan_arguments(parser)
    parser.set_defaults(client_cpu=1)
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes("10k,1M,10M"),
        help="stored token rows per step (10k,1M,10M)",
    )
    parser.add_argument("--chart", type=Path, default=None, help="write the PNG chart here")
    parser.add_argument("--from-json", type=Path, default=None, help="no run: redraw from a JSON")
    parser.add_argument("--keep", action="store_true", help="reuse seeded data of the same size")
    parser.add_argument("--drop", action="store_true", help="drop the seeded data at the end")
    parser.add_argument("--servers", default="floor,project", help="which of floor,project")
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU of the server (0)")
    parser.add_argument("--floor-dir", type=Path, default=DEFAULT_FLOOR_DIR)
    parser.add_argument("--floor-dsn", default=DEFAULT_FLOOR_DSN, help="the floor's database")
    parser.add_argument("--floor-port", type=int, default=5100)
    parser.add_argument("--project-port", type=int, default=5200)
    parser.add_argument("--database", default="bench_oauth2", help="re-created for the project")
    parser.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL, as superuser"
    )
    parser.add_argument(
        "--project-env", action="append", default=[], metavar="NAME=VALUE", help="(repeatable)"
    )
    args = parser.parse_args()
    args.env = dict(kv.split("=", 1) for kv in args.project_env)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if args.from_json is not None:
        payload = json.loads(args.from_json.read_text())
    else:
        pin(args.client_cpu)
        use_uvloop()
        print(
            f"load average {os.getloadavg()[0]:.2f}; server CPU {args.server_cpu}, load "
            f"generator CPU {args.client_cpu}; {args.concurrency} connections, "
            f"{args.duration:g} s (+{args.warmup:g} s warm-up) x {args.repeats}; sizes "
            + ", ".join(str(s) for s in args.sizes),
            flush=True,
        )
        payload = asyncio.run(main_async(args))
        if args.json:
            args.json.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nscale (median of {payload['repeats']} per size; ratios to the smallest size):")
    print(scale_table(payload["sizes"], payload["workloads"]))
    if "load_average_end" in payload:
        print(f"load average at the end {payload['load_average_end']:.2f}")
    if args.chart is not None:
        chart(payload, args.chart)


if __name__ == "__main__":
    main()
