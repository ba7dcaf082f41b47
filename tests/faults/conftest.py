"""Fault tests stop and start a PostgreSQL cluster of their own (`faults`, port 5433), made
on first use, so the cluster other tests share is never touched. Run with `make fault-test`."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import migrate

PORT = 5433
CLUSTER = "faults"
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
