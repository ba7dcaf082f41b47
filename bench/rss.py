#!/usr/bin/env python3
"""Memory check: the RSS of one server worker over 100 000 requests of a workload (W1 default).

    .venv/bin/python bench/rss.py                     # starts the project itself (port 5200)
    .venv/bin/python bench/rss.py --url URL --pid PID # a server already running

Reads VmRSS at start-up, after the setup and a warm-up (the baseline: first requests fill
caches and import lazily), then after every chunk of load until --requests good requests have
been served. The worker is "flat" when the last RSS is within 10 % of the baseline.
"""

from __future__ import annotations

import argparse
import asyncio

import fixtures
from run import parse_workloads, pin, use_uvloop
from servers import Project, rss_kib
from workloads import run_workload


async def measure(args: argparse.Namespace, url: str, pid: int) -> bool:
    start_rss = rss_kib(pid)
    fx = await fixtures.prepare(url, args.workload, args.concurrency)
    if fx.skipped:
        raise SystemExit(f"setup failed: {fx.skipped}")
    w = args.workload[0]
    await run_workload(w, url, fx, args.warmup, args.concurrency, "warmup")
    base = rss_kib(pid)
    print(f"RSS at start {start_rss / 1024:.1f} MiB; after setup + warm-up {base / 1024:.1f} MiB")
    done, chunk = 0, 0
    while done < args.requests:
        chunk += 1
        r = await run_workload(w, url, fx, args.chunk, args.concurrency, "server", chunk, pid)
        done += r.operations
        now = rss_kib(pid)
        print(
            f"{done:>8d} {w} requests  RSS {now / 1024:7.1f} MiB  ({now / base - 1:+.1%})  "
            f"{r.rate:.0f}/s  errors {r.errors}",
            flush=True,
        )
    growth = now / base - 1
    flat = abs(growth) <= 0.10
    print(
        f"RSS {base / 1024:.1f} -> {now / 1024:.1f} MiB over {done} requests: {growth:+.1%} "
        + ("(flat: within 10 %)" if flat else "(NOT flat: more than 10 %)")
    )
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=None, help="a running server (with --pid)")
    parser.add_argument("--pid", type=int, default=None, help="its worker's pid")
    parser.add_argument("--workload", type=parse_workloads, default=["W1"])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--chunk", type=float, default=5.0, help="seconds of load per reading")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--database", default="bench_rss", help="re-created for the project")
    parser.add_argument(
        "--project-env", action="append", default=[], metavar="NAME=VALUE", help="repeatable"
    )
    args = parser.parse_args()
    use_uvloop()
    if args.url:
        if args.pid is None:
            parser.error("--url needs --pid (the worker to watch)")
        pin(args.client_cpu)
        flat = asyncio.run(measure(args, args.url, args.pid))
    else:
        env = dict(kv.split("=", 1) for kv in args.project_env)
        project = Project(cpu=args.server_cpu, database=args.database, extra_env=env)
        project.start()
        try:
            print(f"project on {project.url}, pid {project.pid}, database {args.database}")
            pin(args.client_cpu)
            assert project.pid is not None
            flat = asyncio.run(measure(args, project.url, project.pid))
        finally:
            project.stop()
    raise SystemExit(0 if flat else 1)


if __name__ == "__main__":
    main()
