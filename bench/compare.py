#!/usr/bin/env python3
"""A/B load comparison: the project against the floor app, alternately, in one session.

    .venv/bin/python bench/compare.py            # or: bench/compare.sh

Per repeat it starts one server (pinned to --server-cpu), runs every workload (warm-up, then
--duration seconds at --concurrency connections), stops it, then does the same with the other;
the order alternates (floor, project | project, floor | floor, project ...) so that drift on a
shared machine hits both alike. The table gives the median of the repeats per server and the
ratios project/floor of the rate and of p99, against the issue's targets.

`--baseline-dir DIR` adds a third server, "baseline": another checkout of the project (an
older commit, with its own `.venv`: `git worktree add DIR COMMIT && make -C DIR install-dev`),
served the same way on the project's port (never at the same time) with a database of its
own, in the same alternation (floor, baseline, project | project, baseline, floor ...); the
table then also gives project/baseline, to tell a change's effect from the machine's drift.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import fixtures
from run import (
    HEADER,
    add_load_arguments,
    median_table,
    medians,
    pin,
    result_line,
    run_one_server,
    use_uvloop,
    write_json,
)
from servers import DEFAULT_FLOOR_DIR, Floor, Project
from workloads import NAMES, Result

# Issue 5: minimum median rate ratio project/floor per workload; p99 at most twice the floor's.
TARGETS = {"W1": 0.70, "W2": 0.60, "W3": 0.60, "W4": 0.70}
P99_LIMIT = 2.0


def start(server: Floor | Project, client_cpu: int | None) -> None:
    """Start a server with the whole machine's CPUs, whatever this process is pinned to."""
    os.sched_setaffinity(0, range(os.cpu_count() or 1))
    try:
        server.start()
    finally:
        pin(client_cpu)


def verdict(results: list[Result], workloads: list[str]) -> str:
    med = medians(results)
    lines = []
    for w in workloads:
        p, f = med.get(("project", w)), med.get(("floor", w))
        if not p or not f or not f["rate"] or not f["p99_ms"]:
            lines.append(f"{NAMES[w]:<12} not measured on both servers")
            continue
        rate, p99 = (p["rate"] or 0) / f["rate"], (p["p99_ms"] or 0) / f["p99_ms"]
        ok = rate >= TARGETS[w] and p99 <= P99_LIMIT and not p["errors"]
        lines.append(
            f"{NAMES[w]:<12} rate ratio {rate:.2f} (target >= {TARGETS[w]:.2f}), "
            f"p99 ratio {p99:.2f} (target <= {P99_LIMIT:.1f}), errors {p['errors']:.0f}: "
            + ("MEETS" if ok else "MISSES")
        )
    return "\n".join(lines)


def ratio_table(results: list[Result], workloads: list[str], measured: list[str]) -> str:
    """Per workload, a/b of the median rate and of the median p99 for each pair measured."""
    med = medians(results)
    pairs = [
        (a, b)
        for a, b in (("baseline", "floor"), ("project", "floor"), ("project", "baseline"))
        if a in measured and b in measured
    ]
    lines = [f"{'workload':<12} " + "  ".join(f"{a + '/' + b:>24}" for a, b in pairs)]
    for w in workloads:
        cells = []
        for a, b in pairs:
            x, y = med.get((a, w)), med.get((b, w))
            if x and y and x["rate"] and y["rate"] and x["p99_ms"] and y["p99_ms"]:
                rate, p99 = x["rate"] / y["rate"], x["p99_ms"] / y["p99_ms"]
                cells.append(f"{f'rate {rate:.2f}  p99 {p99:.2f}':>24}")
            else:
                cells.append(f"{'-':>24}")
        lines.append(f"{NAMES[w]:<12} " + "  ".join(cells))
    return "\n".join(lines)


async def compare(args: argparse.Namespace) -> list[Result]:
    floor = Floor(port=args.floor_port, cpu=args.server_cpu, floor_dir=args.floor_dir)
    project = Project(
        port=args.project_port, cpu=args.server_cpu, database=args.database, extra_env=args.env
    )
    servers: dict[str, Floor | Project] = {"floor": floor, "project": project}
    if args.baseline_dir is not None:
        servers["baseline"] = Project(
            port=args.project_port,
            cpu=args.server_cpu,
            database=f"{args.database}_baseline",
            extra_env=args.env,
            root=args.baseline_dir.resolve(),
            name="baseline",
            log=Path("/tmp/bench-baseline.log"),
        )
    names = [s for s in ("floor", "baseline", "project") if s in args.servers and s in servers]
    return await alternate(servers, names, args)


async def alternate(
    servers: dict[str, Floor | Project], names: list[str], args: argparse.Namespace
) -> list[Result]:
    """`args.repeats` rounds over the servers `names` (in that order, then reversed, ...): each
    is started, set up once (fixtures through its API), measured on every workload, stopped.
    Uses args.workloads, duration, warmup, concurrency, repeats and client_cpu."""
    fixtures_by_server: dict[str, fixtures.Fixture] = {}
    results: list[Result] = []
    print(HEADER)
    for repeat in range(1, args.repeats + 1):
        order = names if repeat % 2 else names[::-1]
        for name in order:
            server = servers[name]
            start(server, args.client_cpu)
            try:
                if name not in fixtures_by_server:
                    fx = await fixtures.prepare(server.url, args.workloads, args.concurrency)
                    for w, why in fx.skipped.items():
                        print(f"{name}: {w} left out: {why}", flush=True)
                    fixtures_by_server[name] = fx
                results += await run_one_server(
                    server.url, name, args, fixtures_by_server[name], repeat, server.pid
                )
            finally:
                server.stop()
    return results


async def profile(args: argparse.Namespace) -> None:
    """One extra pass over the project with py-spy attached (see pyspy_top.py); its figures are
    printed but not part of the comparison (sampling slows the server down)."""
    project = Project(
        port=args.project_port,
        cpu=args.server_cpu,
        database=args.database,
        extra_env=args.env,
    )
    start(project, args.client_cpu)
    try:
        fx = await fixtures.prepare(project.url, args.workloads, args.concurrency)
        await run_one_server(project.url, "project", args, fx, 0, project.pid, args.profile_dir)
    finally:
        project.stop()
    print(f"py-spy profiles in {args.profile_dir}; summarise: bench/pyspy_top.py FILE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_load_arguments(parser)
    parser.set_defaults(client_cpu=1)
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU of the server (0)")
    parser.add_argument(
        "--servers", default="floor,baseline,project", help="which of floor,baseline,project"
    )
    parser.add_argument(
        "--baseline-dir",
        type=Path,
        default=None,
        help="another checkout of the project (with its .venv) to measure as 'baseline'",
    )
    parser.add_argument("--floor-dir", type=Path, default=DEFAULT_FLOOR_DIR)
    parser.add_argument("--floor-port", type=int, default=5100)
    parser.add_argument("--project-port", type=int, default=5200)
    parser.add_argument("--database", default="bench_oauth2", help="re-created for the project")
    parser.add_argument(
        "--profile-dir",
        type=Path,
        default=None,
        help="then py-spy the project, one pass (--repeats 0: only that)",
    )
    parser.add_argument(
        "--project-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the project, e.g. ACCESS_LOG=false (repeatable)",
    )
    args = parser.parse_args()
    args.env = dict(kv.split("=", 1) for kv in args.project_env)
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    pin(args.client_cpu)
    use_uvloop()
    print(
        f"load average {os.getloadavg()[0]:.2f}; server CPU {args.server_cpu}, "
        f"load generator CPU {args.client_cpu}; {args.concurrency} connections, "
        f"{args.duration:g} s (+{args.warmup:g} s warm-up) x {args.repeats}"
        + (f"; project env {args.env}" if args.env else ""),
        flush=True,
    )
    if args.repeats > 0:
        results = asyncio.run(compare(args))
        print(f"\nall runs:\n{HEADER}")
        for r in sorted(results, key=lambda r: (r.workload, r.server, r.repeat)):
            print(result_line(r))
        measured = [s for s in ("floor", "baseline", "project") if s in {r.server for r in results}]
        print(f"\nmedian of {args.repeats} (ratio = project/floor):")
        print(median_table(results, args.workloads, measured, ("project", "floor")))
        if "baseline" in measured:
            print("\nratios of the medians, rate and p99:")
            print(ratio_table(results, args.workloads, measured))
        if {"floor", "project"} <= set(measured):
            print("\ntargets (issue 5):")
            print(verdict(results, args.workloads))
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        if args.json:
            write_json(args.json, results, {"argv": sys.argv, "command": "compare"})
    if args.profile_dir is not None:
        asyncio.run(profile(args))


if __name__ == "__main__":
    main()
