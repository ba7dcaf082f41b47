#!/usr/bin/env python3
"""`fittrackee-oauth2 clean` on millions of expired rows while the server serves W1 and W3.

    .venv/bin/python bench/clean_under_load.py --tokens 1000000 --duration 10
    .venv/bin/python bench/clean_under_load.py --tokens 1000000 --interrupt-after 5

The issue's claim to check: clean deletes in bounded batches, so that while it runs the hot
paths keep serving with no errors and a p99 within 2x of their baseline; and it can be
interrupted and run again. So, on a database of its own (`--database`, re-created, migrated
and seeded with `--tokens` rows, mostly expired: `--expired-percent` 85 and
`--revoked-percent` 5 by default, so 90 % of the rows are removable):

1. the project is started (one worker, pinned as compare.py pins it) and W1 and W3 are measured
   `--repeats` times: the baseline (medians);
2. clean is started as a subprocess (its stdout and stderr printed as they come, stamped with
   the seconds since it started) and W1 and W3 are measured again and again, one window of
   `--duration` s each, until clean exits; every window is printed with how much of it clean
   was running for;
3. with `--interrupt-after S`, clean gets SIGINT after S s: its exit status and the rows left
   are printed, then clean is run again to completion, measured the same way.

The summary: clean's elapsed time and exit status per run, the rows before and after, and
per workload the baseline against the windows during clean (those at least half inside it):
lowest rate, highest p99 and its ratio to the baseline's (target <= 2), errors (target 0).
The database is dropped at the end unless `--keep-db`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field

import asyncpg
import fixtures
import seed
from compare import start
from run import add_load_arguments, medians, pin, result_line, run_one_server, use_uvloop
from servers import Project
from workloads import NAMES, Result, run_workload

P99_LIMIT = 2.0  # p99 during clean at most twice the baseline's
INSIDE = 0.5  # a window counts as "during clean" when at least half of it was


@dataclass
class Timed:
    """One measured run and when it ran, in seconds since the clean run started."""

    result: Result
    start_s: float
    end_s: float
    overlap: float = 0.0  # the share of the run clean was running for

    def as_dict(self) -> dict:
        return {
            **self.result.as_dict(),
            "start_s": self.start_s,
            "end_s": self.end_s,
            "overlap": self.overlap,
        }


@dataclass
class CleanRun:
    label: str
    exit_code: int | None = None
    elapsed_s: float = 0.0
    interrupted: bool = False
    output: list[str] = field(default_factory=list)
    windows: list[Timed] = field(default_factory=list)
    rows_after: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "exit_code": self.exit_code,
            "elapsed_s": self.elapsed_s,
            "interrupted": self.interrupted,
            "output": self.output,
            "rows_after": self.rows_after,
            "windows": [w.as_dict() for w in self.windows],
        }


async def row_counts(dsn: str) -> dict[str, int]:
    """Token rows and codes now, and how many of each have expired (what clean may take)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """
            SELECT (SELECT count(*) FROM oauth2_tokens) AS tokens,
                   (SELECT count(*) FROM oauth2_tokens
                    WHERE access_expires_at < now() AND refresh_expires_at < now())
                       AS tokens_expired,
                   (SELECT count(*) FROM oauth2_codes) AS codes,
                   (SELECT count(*) FROM oauth2_codes WHERE expires_at < now()) AS codes_expired
            """
        )
        return dict(row)
    finally:
        await conn.close()


async def _echo(stream: asyncio.StreamReader, name: str, t0: float, run: CleanRun) -> None:
    """Print clean's lines as they come (its progress), and keep them for the JSON."""
    async for raw in stream:
        line = raw.decode(errors="replace").rstrip("\n")
        stamp = time.perf_counter() - t0
        run.output.append(f"{stamp:.1f} {name}: {line}")
        print(f"  [clean +{stamp:6.1f} s {name}] {line}", flush=True)


async def _spawn_clean(project: Project, extra: list[str]) -> asyncio.subprocess.Process:
    """clean with the whole machine's CPUs (like the servers), not pinned with the generator."""
    cmd = [str(project.venv / "bin" / "fittrackee-oauth2"), "clean", *extra]
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, range(os.cpu_count() or 1))
    try:
        return await asyncio.create_subprocess_exec(
            *cmd, env=project.env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    finally:
        os.sched_setaffinity(0, mine)


async def clean_run(
    label: str,
    project: Project,
    fx: fixtures.Fixture,
    args: argparse.Namespace,
    interrupt_after: float | None,
) -> CleanRun:
    """One clean, measured in windows until it exits (at least one window)."""
    run = CleanRun(label)
    print(f"\n--- {label}: fittrackee-oauth2 clean {' '.join(args.clean_arg)}", flush=True)
    t0 = time.perf_counter()
    proc = await _spawn_clean(project, args.clean_arg)
    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        asyncio.ensure_future(_echo(proc.stdout, "out", t0, run)),
        asyncio.ensure_future(_echo(proc.stderr, "err", t0, run)),
    ]

    async def interrupt() -> None:
        assert interrupt_after is not None
        await asyncio.sleep(interrupt_after)
        if proc.returncode is None:
            print(f"  [sending SIGINT to clean (pid {proc.pid}) after {interrupt_after:g} s]")
            proc.send_signal(signal.SIGINT)
            run.interrupted = True

    interrupter = asyncio.ensure_future(interrupt()) if interrupt_after is not None else None
    ended: list[float] = []  # when clean exited, to the millisecond
    waiter = asyncio.ensure_future(proc.wait())
    waiter.add_done_callback(lambda _: ended.append(time.perf_counter() - t0))
    window = 0
    while not waiter.done() or window == 0:
        window += 1
        for w in fx.ready(args.workloads):
            s = time.perf_counter() - t0
            result = await run_workload(
                w, project.url, fx, args.duration, args.concurrency, "clean", window, project.pid
            )
            e = time.perf_counter() - t0
            run.windows.append(Timed(result, round(s, 2), round(e, 2)))
            print(result_line(result) + f"  [window {window}, +{s:.0f}-{e:.0f} s]", flush=True)
    await waiter
    await asyncio.gather(*readers)
    if interrupter is not None:
        interrupter.cancel()
    run.elapsed_s = round(ended[0], 2)
    run.exit_code = proc.returncode
    for t in run.windows:
        inside = max(0.0, min(t.end_s, run.elapsed_s) - t.start_s)
        t.overlap = round(inside / (t.end_s - t.start_s), 2) if t.end_s > t.start_s else 0.0
    run.rows_after = await row_counts(seed_dsn(project))
    print(
        f"  clean exited {run.exit_code} after {run.elapsed_s:.1f} s"
        + (" (interrupted)" if run.interrupted else "")
        + f"; rows now: {run.rows_after}",
        flush=True,
    )
    return run


def seed_dsn(project: Project) -> str:
    return f"{project.pg}/{project.database}"


def summary(
    baseline: list[Result], runs: list[CleanRun], rows_before: dict, workloads: list[str]
) -> str:
    lines = [f"rows before: {rows_before}"]
    for run in runs:
        lines.append(
            f"{run.label}: exit {run.exit_code}, {run.elapsed_s:.1f} s"
            + (" (SIGINT)" if run.interrupted else "")
            + f"; rows after: {run.rows_after}"
        )
    base = medians(baseline)
    during = [t for run in runs for t in run.windows if t.overlap >= INSIDE]
    repeats = max((int(m["runs"] or 0) for m in base.values()), default=0)
    lines.append(
        f"\nper workload, baseline (median of {repeats}) against the runs at least "
        f"{INSIDE:.0%} inside a clean:"
    )
    for w in workloads:
        b = base.get(("baseline", w))
        mine = [t.result for t in during if t.result.workload == w]
        if b is None or not mine:
            lines.append(f"{NAMES[w]:<12} not measured " + ("during clean" if b else "at baseline"))
            continue
        worst_p99 = max(r.p99_ms for r in mine)
        low_rate = min(r.rate for r in mine)
        errors = sum(r.errors for r in mine)
        ratio = worst_p99 / b["p99_ms"] if b["p99_ms"] else float("inf")
        ok = ratio <= P99_LIMIT and errors == 0
        lines.append(
            f"{NAMES[w]:<12} baseline {b['rate']:.0f}/s p99 {b['p99_ms']:.1f} ms errors "
            f"{b['errors']:.0f} | during clean ({len(mine)} runs): rate min {low_rate:.0f}/s "
            f"median {statistics.median(r.rate for r in mine):.0f}/s "
            f"({low_rate / b['rate']:.2f} of baseline), p99 max {worst_p99:.1f} ms "
            f"(ratio {ratio:.2f}, target <= {P99_LIMIT:.1f}), errors {errors}: "
            + ("MEETS" if ok else "MISSES")
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict:
    plan = seed.Plan(
        args.tokens,
        seed.fit_long_families(args.tokens, args.long_families, args.long_length),
        args.long_length,
        args.expired_percent,
        args.revoked_percent,
    )
    project = Project(
        port=args.project_port,
        cpu=args.server_cpu,
        database=args.database,
        pg=args.pg,
        extra_env=args.env,
        fresh_db=False,
    )
    project.recreate_database()
    seeding = [r.as_dict() for r in await seed.seed_project(seed_dsn(project), plan)]
    rows_before = await row_counts(seed_dsn(project))
    out: dict = {
        "argv": sys.argv,
        "plan": plan.as_dict(),
        "seed": seeding,
        "rows_before": rows_before,
    }
    runs: list[CleanRun] = []
    baseline: list[Result] = []
    try:
        start(project, args.client_cpu)
        fx = await fixtures.prepare(project.url, args.workloads, args.concurrency)
        for w, why in fx.skipped.items():
            print(f"{w} left out: {why}")
        print("\nbaseline:")
        for repeat in range(1, args.repeats + 1):
            baseline += await run_one_server(project.url, "baseline", args, fx, repeat, project.pid)
        if args.interrupt_after is not None:
            runs.append(
                await clean_run(
                    f"clean interrupted after {args.interrupt_after:g} s",
                    project,
                    fx,
                    args,
                    args.interrupt_after,
                )
            )
            runs.append(await clean_run("clean run again", project, fx, args, None))
        else:
            runs.append(await clean_run("clean", project, fx, args, None))
    finally:
        project.stop()
        if not args.keep_db:
            await drop_database(args.pg, args.database)
    print("\nsummary:")
    print(summary(baseline, runs, rows_before, args.workloads))
    out["baseline"] = [r.as_dict() for r in baseline]
    out["clean_runs"] = [r.as_dict() for r in runs]
    return out


async def drop_database(pg: str, database: str) -> None:
    admin = await asyncpg.connect(f"{pg}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()
    print(f"dropped database {database}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_load_arguments(parser)
    seed.add_plan_arguments(parser)
    parser.set_defaults(client_cpu=1, workloads=["W1", "W3"], expired_percent=85, revoked_percent=5)
    parser.add_argument("--tokens", type=int, default=1_000_000, help="token rows to seed (1M)")
    parser.add_argument(
        "--interrupt-after",
        type=float,
        default=None,
        metavar="S",
        help="SIGINT clean after S s, then run it again",
    )
    parser.add_argument(
        "--clean-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an argument for `fittrackee-oauth2 clean` (repeatable)",
    )
    parser.add_argument(
        "--database", default="bench_oauth2_clean", help="re-created, dropped after"
    )
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--keep-db", action="store_true", help="do not drop the database at the end"
    )
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU of the server (0)")
    parser.add_argument("--project-port", type=int, default=5200)
    parser.add_argument(
        "--project-env", action="append", default=[], metavar="NAME=VALUE", help="(repeatable)"
    )
    args = parser.parse_args()
    args.env = dict(kv.split("=", 1) for kv in args.project_env)
    pin(args.client_cpu)
    use_uvloop()
    print(
        f"load average {os.getloadavg()[0]:.2f}; server CPU {args.server_cpu}, load generator "
        f"CPU {args.client_cpu}; {args.concurrency} connections, {args.duration:g} s windows",
        flush=True,
    )
    out = asyncio.run(main_async(args))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
