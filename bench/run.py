#!/usr/bin/env python3
"""Load benchmark against one server URL: rate, p50/p90/p99 latency and errors per workload.

    .venv/bin/python bench/run.py --url http://127.0.0.1:5200 --client-cpu 1 --server-pid PID

Sets its data up through the public API (fixtures.py), then for each repeat runs every workload
for a warm-up (not counted) and for `--duration` seconds at `--concurrency` connections, and
prints the median of the repeats. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import fixtures
from workloads import NAMES, Result, run_workload

WORKLOADS = ("W1", "W2", "W3", "W4")
METRICS = ("rate", "p50_ms", "p90_ms", "p99_ms", "errors", "client_cpu", "server_cpu")


def use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        print("uvloop not installed: the asyncio client runs on the default loop", file=sys.stderr)
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def pin(cpu: int | None) -> None:
    """Pin this process (and wrk, its child) to one CPU, away from the server's."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def parse_workloads(text: str) -> list[str]:
    names = [w.strip().upper() for w in text.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"workloads are among {','.join(WORKLOADS)}")
    return names


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workloads", type=parse_workloads, default=list(WORKLOADS))
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds before (2)")
    parser.add_argument("--concurrency", type=int, default=32, help="connections (32)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per workload (3)")
    parser.add_argument("--client-cpu", type=int, default=None, help="pin the load generator")
    parser.add_argument("--json", type=Path, default=None, help="write every run and the medians")


def medians(results: Iterable[Result]) -> dict[tuple[str, str], dict[str, float | None]]:
    """Median of each metric over the repeats, per (server, workload)."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.server, r.workload), []).append(r)
    out: dict[tuple[str, str], dict[str, float | None]] = {}
    for key, runs in groups.items():
        row: dict[str, float | None] = {"runs": len(runs)}
        for metric in METRICS:
            values = [getattr(r, metric) for r in runs if getattr(r, metric) is not None]
            row[metric] = statistics.median(values) if values else None
        out[key] = row
    return out


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


HEADER = (
    f"{'workload':<12} {'server':<8} {'rate/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
    f"{'errors':>7} {'gen CPU':>8} {'srv CPU':>8}"
)


def result_line(r: Result) -> str:
    return (
        f"{NAMES[r.workload]:<12} {r.server:<8} {r.rate:>8.1f} {r.p50_ms:>8.2f} "
        f"{r.p90_ms:>8.2f} {r.p99_ms:>8.2f} {r.errors:>7d} {r.client_cpu:>8.0%} "
        f"{fmt(r.server_cpu, '>8.0%'):>8}  (run {r.repeat}, load {r.loadavg:.1f}"
        + (f", {r.error_detail}" if r.error_detail else "")
        + ")"
    )


def median_table(
    results: list[Result], workloads: list[str], servers: list[str], ratio: tuple[str, str] | None
) -> str:
    """Medians per workload and server; with `ratio=(a, b)` also a/b for rate and p99."""
    med = medians(results)
    lines = [HEADER]
    for w in workloads:
        for s in servers:
            m = med.get((s, w))
            if m is None:
                continue
            lines.append(
                f"{NAMES[w]:<12} {s:<8} {fmt(m['rate'], '>8.1f')} {fmt(m['p50_ms'], '>8.2f')} "
                f"{fmt(m['p90_ms'], '>8.2f')} {fmt(m['p99_ms'], '>8.2f')} "
                f"{fmt(m['errors'], '>7.0f')} {fmt(m['client_cpu'], '>8.0%')} "
                f"{fmt(m['server_cpu'], '>8.0%')}"
            )
        if ratio is not None:
            a, b = med.get((ratio[0], w)), med.get((ratio[1], w))
            if a and b and a["rate"] and b["rate"]:
                lines.append(
                    f"{'':<12} {'ratio':<8} {a['rate'] / b['rate']:>8.2f}   "
                    f"(rate {ratio[0]}/{ratio[1]});  p99 {ratio[0]}/{ratio[1]} = "
                    f"{a['p99_ms'] / b['p99_ms']:.2f}"
                )
    return "\n".join(lines)


def write_json(path: Path, results: list[Result], extra: dict | None = None) -> None:
    med = medians(results)
    payload = {
        **(extra or {}),
        "runs": [r.as_dict() for r in results],
        "medians": [{"server": s, "workload": w, **m} for (s, w), m in sorted(med.items())],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")


class Profiler:
    """py-spy record of the server while one workload runs (raw collapsed stacks)."""

    def __init__(self, pid: int, out: Path, seconds: float) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.cmd = [
            py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "250",
            "--format",
            "raw",
            "--full-filenames",
            "--output",
            str(out),
        ]
        self.out = out

    async def __aenter__(self) -> Profiler:
        self.proc = await asyncio.create_subprocess_exec(
            *self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        await asyncio.sleep(0.3)  # let py-spy attach before the load starts
        return self

    async def __aexit__(self, *exc: object) -> None:
        _, err = await self.proc.communicate()
        if self.proc.returncode != 0:
            print(f"py-spy failed: {err.decode()[-500:]}", file=sys.stderr)


def py_spy() -> str:
    exe = Path(sys.executable).parent / "py-spy"
    if exe.exists():
        return str(exe)
    raise SystemExit("py-spy not found next to python: pip install py-spy (bench/README.md)")


async def run_one_server(
    url: str,
    server: str,
    args: argparse.Namespace,
    fx: fixtures.Fixture,
    repeat: int,
    server_pid: int | None,
    profile_dir: Path | None = None,
) -> list[Result]:
    """Every workload once (after its warm-up) against one server; prints each result."""
    out = []
    for w in fx.ready(args.workloads):
        if args.warmup > 0:
            await run_workload(w, url, fx, args.warmup, args.concurrency, server)
        if profile_dir is not None and server_pid is not None:
            async with Profiler(server_pid, profile_dir / f"{server}-{w}.txt", args.duration):
                result = await run_workload(
                    w, url, fx, args.duration, args.concurrency, server, repeat, server_pid
                )
        else:
            result = await run_workload(
                w, url, fx, args.duration, args.concurrency, server, repeat, server_pid
            )
        print(result_line(result), flush=True)
        out.append(result)
    return out


async def main_async(args: argparse.Namespace) -> None:
    fx = await fixtures.prepare(args.url, args.workloads, args.concurrency)
    print(f"setup done on {args.url} (run id {fx.run_id})")
    for w, why in fx.skipped.items():
        print(f"{w} left out: {why}")
    print(HEADER)
    results: list[Result] = []
    for repeat in range(1, args.repeats + 1):
        results += await run_one_server(
            args.url, args.label, args, fx, repeat, args.server_pid, args.profile_dir
        )
    print(f"\nmedian of {args.repeats}:")
    print(median_table(results, args.workloads, [args.label], None))
    if args.json:
        write_json(args.json, results, {"url": args.url, "argv": sys.argv})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:5200")
    add_load_arguments(parser)
    parser.add_argument("--server-pid", type=int, default=None, help="report the server's CPU")
    parser.add_argument("--label", default="server", help="server name in the output")
    parser.add_argument(
        "--profile-dir", type=Path, default=None, help="py-spy the server (needs --server-pid)"
    )
    args = parser.parse_args()
    if args.profile_dir is not None and args.server_pid is None:
        parser.error("--profile-dir needs --server-pid (the process to sample)")
    pin(args.client_cpu)
    use_uvloop()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
