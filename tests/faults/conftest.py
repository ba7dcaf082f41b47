"""Fault tests stop and start a PostgreSQL cluster of their own (`faults`, port 5433), made
on first use, so the cluster other tests share is never touched. Run with `make fault-test`."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import httpx
import pytest

from app.api.errors import DATABASE_UNAVAILABLE, OAUTH2_ENDPOINTS
from tests.databases import migrate

PORT = 5433
CLUSTER = "faults"
DATABASE_DOWN_SENTENCE = DATABASE_UNAVAILABLE[:1].upper() + DATABASE_UNAVAILABLE[1:] + "."
VERSIONS = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").is_dir() else []


def _run(*command: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command, capture_output=True, check=False)


def pg_ready() -> bool:
    return _run("pg_isready", "-h", "127.0.0.1", "-p", str(PORT), "-q").returncode == 0


def pg_ctl(action: str) -> None:
    """Start or stop the fault cluster (fast shutdown: sessions are cut, as in a crash)."""
    extra = ("-m", "fast") if action == "stop" else ()
    result = _run(
        "pg_ctlcluster", "--skip-systemctl-redirect", VERSIONS[-1], CLUSTER, action, *extra
    )
    if result.returncode != 0 and not (action == "start" and pg_ready()):
        raise RuntimeError(result.stderr.decode())


async def pg_ctl_async(action: str) -> None:
    """pg_ctl without blocking the event loop the test's own client runs on."""
    await asyncio.to_thread(pg_ctl, action)


@pytest.fixture(scope="session")
def fault_database_url() -> Iterator[str]:
    if not VERSIONS or _run("which", "pg_createcluster").returncode != 0:
        pytest.skip("fault tests need Debian's PostgreSQL server tools (pg_createcluster)")
    listed = _run("pg_lsclusters", "-h").stdout.decode()
    if not any(line.split()[1:2] == [CLUSTER] for line in listed.splitlines()):
        made = _run(
            "pg_createcluster", VERSIONS[-1], CLUSTER, "-p", str(PORT), "--", "--auth=trust"
        )
        if made.returncode != 0:
            pytest.skip(f"cannot create the fault cluster: {made.stderr.decode()}")
    pg_ctl("start")
    name = f"faults_{secrets.token_hex(3)}"
    _run(
        "psql",
        "-h",
        "127.0.0.1",
        "-p",
        str(PORT),
        "-U",
        "postgres",
        "-qc",
        f"CREATE DATABASE {name}",
    )
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{PORT}/{name}"
    migrate(url)
    yield url
    if not pg_ready():
        pg_ctl("start")
    _run(
        "psql", "-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", "-qc", f"DROP DATABASE {name}"
    )
    pg_ctl("stop")


@asynccontextmanager
async def database_outage() -> AsyncIterator[None]:
    """The fault cluster is down inside the block and started again when it ends, however
    the block ends."""
    await pg_ctl_async("stop")
    try:
        yield
    finally:
        await pg_ctl_async("start")


def cluster_processes() -> list[int]:
    """The fault cluster's postmaster and every process it started (backends, checkpointer,
    WAL writer...), postmaster first; read from its data directory and /proc."""
    listed = _run("pg_lsclusters", "-h").stdout.decode().splitlines()
    [data_dir] = [line.split()[5] for line in listed if line.split()[1:2] == [CLUSTER]]
    postmaster = int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[1]) == postmaster:
            children.append(int(stat.parent.name))
    return [postmaster, *children]


@asynccontextmanager
async def frozen_database() -> AsyncIterator[list[int]]:
    """Every process of the fault cluster stopped (SIGSTOP) inside the block: sockets stay
    open and connects are accepted by the kernel, but nothing answers, as with a hung host
    or a storage stall. They go on (SIGCONT) when the block ends, however it ends."""
    processes = cluster_processes()
    for pid in processes:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield processes
    finally:
        for pid in processes:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


async def healthy_again(http: httpx.AsyncClient, seconds: float = 30) -> bool:
    """True once `/health` answers 200 through `http` (a refused connection is a no)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if (await http.get("/health")).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    return False


async def wait_healthy(base_url: str, seconds: float = 30, in_a_row: int = 10) -> bool:
    """True once `in_a_row` successive `/health` answers are 200, each on a new connection
    (so that every worker has answered, and found its way back to the database)."""
    limits = httpx.Limits(max_keepalive_connections=0)
    deadline = time.monotonic() + seconds
    healthy = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as http:
        while time.monotonic() < deadline:
            try:
                healthy = healthy + 1 if (await http.get("/health")).status_code == 200 else 0
            except httpx.HTTPError:
                healthy = 0
            if healthy >= in_a_row:
                return True
            await asyncio.sleep(0.05 if healthy else 0.2)
    return False


def unavailable_body(path: str) -> dict[str, str]:
    """The 503 a request to `path` gets while the database is down: RFC 6749's shape on the
    OAuth2 endpoints client libraries call, FitTrackee's everywhere else."""
    if path in OAUTH2_ENDPOINTS:
        return {"error": "temporarily_unavailable", "error_description": DATABASE_DOWN_SENTENCE}
    return {"status": "error", "message": DATABASE_UNAVAILABLE}
