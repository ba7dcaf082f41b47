"""The four workloads: W1/W4 driven by wrk, W2/W3 by the asyncio client in `httpc`.

Each run returns a `Result`: good operations per second, p50/p90/p99 latency (ms), errors, and
the CPU used by the load generator and (when its pid is known) by the server, as a fraction of
one core, so a run can show that the generator was not the bottleneck.

- W1 validate: `GET /api/auth/profile` with OAuth2 access tokens (scope `profile:read`),
  rotating over the fixture's tokens (wrk + bearer.lua).
- W2 exchange: authorize (PKCE S256) + token exchange; one operation = one flow (2 requests);
  latency is the flow's.
- W3 refresh: refresh-token grant; every virtual user walks its own rotating chain.
- W4 list: `GET /api/oauth/apps?page=2` for a user with 12 apps (wrk + bearer.lua).

Rate counts good operations only (2xx); errors are counted apart. wrk's latency percentiles
cover every response (errors included); the asyncio workloads time good operations only.
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import secrets
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import fixtures
from fixtures import Chain, Fixture
from httpc import Connection, HTTPError, loads, split_url

HERE = Path(__file__).resolve().parent
LUA = HERE / "bearer.lua"
NAMES = {
    "W1": "W1 validate",
    "W2": "W2 exchange",
    "W3": "W3 refresh",
    "W4": "W4 list p2",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    workload: str
    server: str
    repeat: int
    operations: int  # good (2xx) operations
    seconds: float
    rate: float  # good operations per second (W2: flows per second)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    error_detail: dict[str, int] = field(default_factory=dict)
    client_cpu: float = 0.0  # load generator CPU, fraction of one core
    server_cpu: float | None = None  # server process CPU, fraction of one core
    loadavg: float = 0.0  # 1-minute load average when the run started (noise indicator)

    def as_dict(self) -> dict:
        return asdict(self)


def cpu_ticks(pid: int | None) -> int | None:
    """utime + stime of a process (all its threads), in clock ticks; None if unknown."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class _Meter:
    """Wall time, own/children CPU and server CPU between start() and stop()."""

    def __init__(self, server_pid: int | None, children: bool) -> None:
        self.server_pid, self.children = server_pid, children

    def start(self) -> None:
        self.load = os.getloadavg()[0]
        self.who = resource.RUSAGE_CHILDREN if self.children else resource.RUSAGE_SELF
        usage = resource.getrusage(self.who)
        self.cpu0 = usage.ru_utime + usage.ru_stime
        self.srv0 = cpu_ticks(self.server_pid)
        self.t0 = time.perf_counter()

    def stop(self) -> tuple[float, float, float | None]:
        """(seconds, client CPU fraction, server CPU fraction or None)."""
        seconds = time.perf_counter() - self.t0
        usage = resource.getrusage(self.who)
        client = (usage.ru_utime + usage.ru_stime - self.cpu0) / seconds
        srv1 = cpu_ticks(self.server_pid)
        server = None
        if self.srv0 is not None and srv1 is not None:
            server = (srv1 - self.srv0) / CLK_TCK / seconds
        return seconds, client, server


# --- wrk workloads (W1, W4) -------------------------------------------------------------------


def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk not found: apt-get install -y wrk (see bench/README.md)")
    return found


async def run_wrk(
    url: str,
    path: str,
    tokens: list[str],
    duration: float,
    concurrency: int,
    server_pid: int | None = None,
) -> tuple[dict, float, float, float | None, float]:
    """One wrk run; (BENCH_RESULT dict, seconds, wrk CPU, server CPU, loadavg)."""
    with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as f:
        f.write("\n".join(tokens) + "\n")
    prefix = url.rstrip("/")
    cmd = [
        wrk_path(),
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        prefix,
        "--",
        split_url(prefix)[2] + path,
        f.name,
    ]
    meter = _Meter(server_pid, children=True)
    try:
        meter.start()
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await proc.communicate()
        seconds, client, server = meter.stop()
    finally:
        os.unlink(f.name)
    for line in out.decode().splitlines():
        if line.startswith("BENCH_RESULT "):
            return loads(line[13:]), seconds, client, server, meter.load
    raise RuntimeError(f"wrk failed ({proc.returncode}): {out.decode()} {err.decode()}")


async def wrk_workload(
    name: str,
    url: str,
    fx: Fixture,
    duration: float,
    concurrency: int,
    server: str,
    repeat: int,
    server_pid: int | None,
) -> Result:
    if name == "W1":
        path, tokens = "/api/auth/profile", fx.w1_tokens
    else:
        assert fx.w4_user is not None
        path, tokens = "/api/oauth/apps?page=2", [fx.w4_user.token]
    res, _, client, srv, load = await run_wrk(url, path, tokens, duration, concurrency, server_pid)
    seconds = res["duration_us"] / 1e6
    detail = {k: res[k] for k in ("connect", "read", "write", "status", "timeout") if res[k]}
    errors = sum(detail.values())
    good = res["requests"] - res["status"]
    return Result(
        workload=name,
        server=server,
        repeat=repeat,
        operations=good,
        seconds=round(seconds, 3),
        rate=round(good / seconds, 1),
        p50_ms=res["p50_us"] / 1000,
        p90_ms=res["p90_us"] / 1000,
        p99_ms=res["p99_us"] / 1000,
        errors=errors,
        error_detail=detail,
        client_cpu=round(client, 3),
        server_cpu=None if srv is None else round(srv, 3),
        loadavg=load,
    )


# --- asyncio workloads (W2, W3) ---------------------------------------------------------------


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()


async def _vu_exchange(
    conn: Connection, fx: Fixture, index: int, deadline: float, tally: _Tally
) -> None:
    """One virtual user of W2: authorize + exchange, again and again, until the deadline."""
    assert fx.w2_user is not None
    user, app = fx.w2_user, fx.w2_apps[index % len(fx.w2_apps)]
    perf = time.perf_counter
    latencies, errors = tally.latencies, tally.errors
    while perf() < deadline:
        verifier, challenge = fixtures.pkce_pair()
        state = secrets.token_urlsafe(12)
        t0 = perf()
        try:
            status, body = await conn.send(
                fixtures.authorize_request(conn, user, app, challenge, state)
            )
            if status != 200:
                errors[f"authorize {status}"] += 1
                continue
            code = fixtures.code_from(body)
            status, body = await conn.send(fixtures.exchange_request(conn, app, code, verifier))
            if status != 200:
                errors[f"token {status}"] += 1
                continue
        except (HTTPError, OSError, KeyError, ValueError) as exc:
            errors[type(exc).__name__] += 1
            conn.close()
            continue
        latencies.append(perf() - t0)


async def _vu_refresh(
    conn: Connection, fx: Fixture, index: int, deadline: float, tally: _Tally
) -> None:
    """One virtual user of W3: walk chain `index`; a broken chain is replaced by a spare one
    (or, when none is left, by a new chain from one authorize + exchange, not timed)."""
    perf = time.perf_counter
    latencies, errors = tally.latencies, tally.errors
    while perf() < deadline:
        chain = fx.w3_chains[index]
        t0 = perf()
        try:
            status, body = await conn.send(
                fixtures.refresh_request(conn, chain.app, chain.refresh_token)
            )
            if status == 200:
                chain.refresh_token = loads(body)["refresh_token"]
                latencies.append(perf() - t0)
                continue
            errors[f"refresh {status}"] += 1
        except (HTTPError, OSError, KeyError, ValueError) as exc:
            errors[type(exc).__name__] += 1
            conn.close()
        try:
            fx.w3_chains[index] = await _replacement_chain(conn, fx, chain)
        except Exception as exc:  # the VU stops: its errors are already counted
            errors[f"chain replacement failed: {type(exc).__name__}"] += 1
            return


async def _replacement_chain(conn: Connection, fx: Fixture, broken: Chain) -> Chain:
    if fx.w3_spares:
        return fx.w3_spares.pop()
    assert fx.w3_user is not None
    token = await fixtures.flow(conn, fx.w3_user, broken.app)
    return Chain(broken.app, token["refresh_token"])


async def flow_workload(
    name: str,
    url: str,
    fx: Fixture,
    duration: float,
    concurrency: int,
    server: str,
    repeat: int,
    server_pid: int | None,
) -> Result:
    vu = _vu_exchange if name == "W2" else _vu_refresh
    conns = [Connection.for_url(url) for _ in range(concurrency)]
    tally = _Tally()
    meter = _Meter(server_pid, children=False)
    meter.start()
    deadline = time.perf_counter() + duration
    tasks = [
        asyncio.ensure_future(vu(conn, fx, i, deadline, tally)) for i, conn in enumerate(conns)
    ]
    _, pending = await asyncio.wait(tasks, timeout=duration + 30)
    for task in pending:  # a request hung for 30 s past the end: count it and give up
        task.cancel()
        tally.errors["timeout"] += 1
    seconds, client, srv = meter.stop()
    for conn in conns:
        conn.close()
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            tally.errors[f"crash {type(task.exception()).__name__}"] += 1
    lat = sorted(tally.latencies)
    return Result(
        workload=name,
        server=server,
        repeat=repeat,
        operations=len(lat),
        seconds=round(seconds, 3),
        rate=round(len(lat) / seconds, 1),
        p50_ms=round(percentile(lat, 50) * 1000, 3),
        p90_ms=round(percentile(lat, 90) * 1000, 3),
        p99_ms=round(percentile(lat, 99) * 1000, 3),
        errors=sum(tally.errors.values()),
        error_detail=dict(tally.errors),
        client_cpu=round(client, 3),
        server_cpu=None if srv is None else round(srv, 3),
        loadavg=meter.load,
    )


async def run_workload(
    name: str,
    url: str,
    fx: Fixture,
    duration: float,
    concurrency: int,
    server: str = "server",
    repeat: int = 0,
    server_pid: int | None = None,
) -> Result:
    runner = wrk_workload if name in ("W1", "W4") else flow_workload
    return await runner(name, url, fx, duration, concurrency, server, repeat, server_pid)
