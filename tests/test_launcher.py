"""`fittrackee-oauth2 serve` and `migrate`: one line and a hint for each thing an operator
can get wrong, the checks before serving, several workers whose metrics add up, JSON logs."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from app import __version__, cli, launcher
from app.config import ConfigurationError
from tests.databases import fresh_database, postgres_admin
from tests.live_server import live_server

ROOT = Path(__file__).resolve().parent.parent
# Settings the test run carries that a command must not see here.
UNSET = ("DATABASE_URL", "SECRET_KEY", "APP_ENV", "WORKERS", "PORT", "HOST", "DATA_DIR")


def command(
    *argv: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m app.cli ARGV` with only the given settings (and no `.env`)."""
    base = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *argv],
        cwd=cwd,
        env={**base, "ENV_FILE": os.devnull, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_and_a_hint(done: subprocess.CompletedProcess[str], status: int) -> str:
    """The refusal is exactly `error: ...` and `hint: ...`; returns the error line."""
    assert done.returncode == status, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    return lines[0]


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/fresh.db"


# --- refusals --------------------------------------------------------------------------------


def test_production_without_a_secret_key_is_one_line(tmp_path):
    done = command("serve", env={"APP_ENV": "production", "DATA_DIR": str(tmp_path)})
    error = assert_one_line_and_a_hint(done, 2)
    assert "SECRET_KEY of at least 32 characters is required in production" in error


def test_a_malformed_setting_is_named_and_its_value_not_shown(tmp_path):
    done = command("stats", env={"PORT": "not-a-port-s3cr3t", "DATA_DIR": str(tmp_path)})
    error = assert_one_line_and_a_hint(done, 2)
    assert error.startswith("error: invalid settings: PORT: ")
    assert "s3cr3t" not in done.stderr


def test_an_unreachable_database_is_one_line_without_its_password():
    url = "postgresql+asyncpg://operator:hunter2-pw@127.0.0.1:1/oauth2"
    done = command("serve", env={"DATABASE_URL": url, "DB_POOL_TIMEOUT": "3"})
    error = assert_one_line_and_a_hint(done, 1)
    assert error == 'error: cannot reach "oauth2" on 127.0.0.1:1: connection refused'
    assert "hunter2" not in done.stderr


def test_a_missing_postgresql_database_is_named(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs a PostgreSQL server (DATABASE_URL)")
    name = f"oauth2_missing_{secrets.token_hex(3)}"
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    for argv in (("serve",), ("stats",), ("migrate",)):
        error = assert_one_line_and_a_hint(command(*argv, env={"DATABASE_URL": url}), 1)
        assert error == f'error: database "{name}" does not exist', argv


def test_a_database_that_is_not_migrated_is_refused_until_migrated(empty_sqlite, tmp_path):
    env = {"DATABASE_URL": empty_sqlite, "DATA_DIR": str(tmp_path)}
    done = command("serve", env=env)
    error = assert_one_line_and_a_hint(done, 1)
    assert error.endswith("is not migrated")
    assert "fittrackee-oauth2 migrate" in done.stderr
    assert_one_line_and_a_hint(command("stats", env=env), 1)

    migrated = command("migrate", env=env, cwd=tmp_path)  # from any directory
    assert migrated.returncode == 0, migrated.stderr
    assert command("stats", env=env, cwd=tmp_path).returncode == 0


def test_a_database_at_an_older_revision_is_refused(empty_sqlite, tmp_path):
    env = {**os.environ, "DATABASE_URL": empty_sqlite}
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "0001"], cwd=ROOT, env=env, check=True
    )
    done = command("serve", env={"DATABASE_URL": empty_sqlite, "DATA_DIR": str(tmp_path)})
    error = assert_one_line_and_a_hint(done, 1)
    assert "is at revision 0001 (this version needs revision" in error


def test_an_empty_database_url_means_the_default_sqlite_file_in_data_dir(tmp_path):
    data = tmp_path / "state"
    done = command("migrate", env={"DATABASE_URL": "", "DATA_DIR": str(data)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (data / "oauth2.db").is_file()


def test_version_comes_from_the_package():
    done = command("--version")
    assert (done.returncode, done.stdout) == (0, f"fittrackee-oauth2 {__version__}\n")


# --- serving ---------------------------------------------------------------------------------


@pytest.fixture
def server_database(database_url: str) -> Iterator[str]:
    """A migrated database of its own (the launcher's servers outlive a test's tables)."""
    with fresh_database(os.environ.get("DATABASE_URL"), prefix="oauth2_launcher") as url:
        yield url


def test_serve_migrates_first_when_asked(tmp_path):
    if (os.environ.get("DATABASE_URL") or "").startswith("postgresql"):
        base = os.environ["DATABASE_URL"]
        name = f"oauth2_serve_{os.getpid()}_{secrets.token_hex(3)}"
        postgres_admin(base, f'CREATE DATABASE "{name}"')
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    else:
        base, name, url = "", "", f"sqlite+aiosqlite:///{tmp_path}/serve.db"
    try:
        with (
            live_server(url, launcher=True, serve_args=("--migrate",)) as base_url,
            httpx.Client(base_url=base_url, timeout=10) as http,
        ):
            assert http.get("/health").status_code == 200
    finally:
        if name:
            postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_workers_report_every_request_and_each_ones_process_figures(server_database, tmp_path):
    log_path = tmp_path / "server.log"
    requests = 30
    with live_server(
        server_database,
        workers=2,
        launcher=True,
        as_a_user_would=True,
        env={"RATE_LIMITS_ENABLED": "false"},
        log_path=log_path,
    ) as base_url:
        for _ in range(requests):  # a new connection each: the kernel spreads them over both
            with httpx.Client(base_url=base_url, timeout=10) as http:
                http.get("/health", headers={"Connection": "close"})
        scrapes = []
        for _ in range(4):
            with httpx.Client(base_url=base_url, timeout=10) as http:
                scrapes.append(http.get("/metrics", headers={"Connection": "close"}).text)
        with httpx.Client(base_url=base_url, timeout=10) as http:
            http.get("/api/oauth/token/SECRETCODE123")
    for text in scrapes:  # whichever worker answered, the counts are the sum of both
        counted = sample(text, 'http_requests_total{method="GET",route="/health",status="200"}')
        assert counted >= requests, text
        pids = {line.split('pid="')[1].split('"')[0] for line in lines(text, "process_resident")}
        assert len(pids) == 2, text
        assert lines(text, "python_gc_collections_total")

    output = log_path.read_text().splitlines()
    records = [json.loads(line) for line in output]  # every line is JSON, uvicorn's too
    messages = [r.get("message", "") for r in records]
    assert any(m.startswith("Started parent process") for m in messages)
    assert sum(m.startswith("Started server process") for m in messages) == 2
    access = [r for r in records if r["logger"] == "access"]
    assert len(access) >= requests + 4
    assert access[-1]["path"] == "<unmatched>"
    assert "SECRETCODE123" not in log_path.read_text()
    assert "Traceback" not in log_path.read_text()


def lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def sample(text: str, name: str) -> float:
    [line] = lines(text, name + " ")
    return float(line.rsplit(" ", 1)[1])


def test_the_metrics_directory_is_emptied_before_the_workers_start(server_database, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"stale counts of an earlier run")
    keep = folder / "notes"
    keep.mkdir()
    with live_server(
        server_database,
        workers=2,
        launcher=True,
        env={"PROMETHEUS_MULTIPROC_DIR": str(folder)},
    ) as base_url:
        assert httpx.get(f"{base_url}/metrics", timeout=10).status_code == 200
        assert not (folder / "counter_999999.db").exists()
        assert keep.is_dir()  # only files (and our own folder) are removed
        assert list(folder.glob("*.db"))


@pytest.mark.parametrize(("trusted", "scheme"), [("127.0.0.1", "https"), ("192.0.2.1", "http")])
def test_serve_trusts_forwarded_headers_from_forwarded_allow_ips_only(
    server_database, trusted, scheme
):
    with live_server(
        server_database, launcher=True, env={"FORWARDED_ALLOW_IPS": trusted}
    ) as base_url:
        discovery = httpx.get(
            f"{base_url}/.well-known/oauth-authorization-server",
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
            timeout=10,
        )
    assert discovery.status_code == 200
    assert discovery.json()["issuer"].startswith(f"{scheme}://127.0.0.1:")


def test_a_refusal_raised_while_building_the_app_is_one_line(
    settings, monkeypatch, capsys: pytest.CaptureFixture[str]
):
    """Settings the app refuses when it is built (`ConfigurationError`) stop the launcher
    before any worker starts, in one line."""

    def refuse(_settings):
        raise ConfigurationError("REDIS_URL is required with more than one worker")

    monkeypatch.setattr(launcher, "create_app", refuse)
    assert cli.main(["serve"], settings) == 2
    error, hint = capsys.readouterr().err.splitlines()
    assert error == "error: REDIS_URL is required with more than one worker"
    assert hint.startswith("hint: ")
