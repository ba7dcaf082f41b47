"""Request metrics and the JSON access log: per route template, with no secrets in them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app import __version__
from app.config import Settings
from app.main import create_app
from app.observability import record_tokens_issued, record_tokens_revoked
from app.observability.access_log import configure_access_log, timestamp
from app.observability.metrics import REGISTRY
from app.observability.middleware import RequestObserver
from tests.helpers import (
    PASSWORD,
    bearer,
    issue_tokens,
    refresh_tokens,
    register,
    revoke_request,
    user_token,
)
from tests.helpers import create_app as create_oauth_app


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Lines:
    """The access lines written to stdout so far (captured by pytest)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._lines: list[str] = []

    @property
    def lines(self) -> list[str]:
        out = self._capsys.readouterr().out
        self._lines += [line for line in out.splitlines() if line.startswith('{"ts"')]
        return self._lines

    def records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def access_lines(capsys: pytest.CaptureFixture[str]) -> Lines:
    capsys.readouterr()
    return Lines(capsys)


@pytest.fixture
async def logged(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app with the access log on (asking for `app` empties the tables)."""
    application = create_app(settings.model_copy(update={"access_log": True}))
    transport = httpx.ASGITransport(app=application, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await application.state.services.db.dispose()


# --- metrics -------------------------------------------------------------------------------


async def test_requests_are_counted_and_timed_per_route_template(client):
    labels = {"method": "GET", "route": "/api/oauth/apps/{client_id}", "status": "401"}
    before = sample("http_requests_total", **labels)
    timed_before = sample(
        "http_request_duration_seconds_count", method="GET", route=labels["route"]
    )
    for client_id in ("first-id", "second-id", "third-id"):
        assert (await client.get(f"/api/oauth/apps/{client_id}")).status_code == 401
    assert sample("http_requests_total", **labels) - before == 3
    timed = sample("http_request_duration_seconds_count", method="GET", route=labels["route"])
    assert timed - timed_before == 3
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert 'route="/api/oauth/apps/{client_id}"' in response.text
    assert "second-id" not in response.text  # raw paths never become labels


async def test_unmatched_paths_and_odd_methods_share_bounded_labels(client):
    before = sample("http_requests_total", method="GET", route="<unmatched>", status="404")
    await client.get("/no/such/path/abc")
    await client.get("/another/unknown/xyz")
    after = sample("http_requests_total", method="GET", route="<unmatched>", status="404")
    assert after - before == 2
    odd_before = sample("http_requests_total", method="OTHER", route="/health", status="405")
    await client.request("BREW", "/health")
    assert sample("http_requests_total", method="OTHER", route="/health", status="405") == (
        odd_before + 1
    )
    text = (await client.get("/metrics")).text
    assert "/no/such/path" not in text
    assert "BREW" not in text


async def test_token_counters_are_exposed(client):
    issued = sample("tokens_issued_total", grant_type="authorization_code")
    revoked = sample("tokens_revoked_total", reason="refresh_reuse")
    record_tokens_issued("authorization_code")
    record_tokens_issued("authorization_code")
    record_tokens_revoked("refresh_reuse", 3)
    record_tokens_revoked("refresh_reuse", 0)
    assert sample("tokens_issued_total", grant_type="authorization_code") == issued + 2
    assert sample("tokens_revoked_total", reason="refresh_reuse") == revoked + 3
    text = (await client.get("/metrics")).text
    assert 'tokens_issued_total{grant_type="authorization_code"}' in text
    assert 'tokens_revoked_total{reason="refresh_reuse"}' in text
    assert "process_cpu_seconds_total" in text or "python_info" in text


async def test_metrics_can_be_turned_off(settings: Settings):
    application = create_app(
        settings.model_copy(update={"metrics_enabled": False, "access_log": False})
    )
    before = sample("http_requests_total", method="GET", route="<unmatched>", status="404")
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/metrics")
    await application.state.services.db.dispose()
    assert response.status_code == 404
    assert sample("http_requests_total", method="GET", route="<unmatched>", status="404") == before


async def test_health_answers_and_is_measured(client):
    before = sample("http_requests_total", method="GET", route="/health", status="200")
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "success", "database": "ok", "version": __version__}
    assert sample("http_requests_total", method="GET", route="/health", status="200") == before + 1


# --- the access log ------------------------------------------------------------------------


async def test_one_json_line_per_request_with_route_status_duration_ip_and_id(
    logged: httpx.AsyncClient, access_lines: Lines
):
    response = await logged.get("/api/oauth/apps/someclientid?page=2")
    assert response.status_code == 401
    [line] = access_lines.records()
    assert set(line) == {
        "ts",
        "level",
        "logger",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "client_ip",
    }
    assert line["method"] == "GET"
    assert line["path"] == "/api/oauth/apps/{client_id}"
    assert line["status"] == 401
    assert line["level"] == "info"
    assert line["client_ip"] == "203.0.113.9"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == response.headers["x-request-id"]
    assert "someclientid" not in access_lines.lines[0]
    assert "page" not in access_lines.lines[0]


async def test_no_secret_sent_in_a_request_reaches_the_log(
    logged: httpx.AsyncClient, access_lines: Lines
):
    await register(logged, "alice")
    secrets_sent = [
        PASSWORD,
        "Sup3rSecretClientSecretValue0123456789abcdefABCDEF",
        "AuthCodeValue0123456789abcdefghijklmnopqrstuvwxyzAB",
        "AccessTokenValue0123456789abcdefghijklmnopqrstu",
        "cookie-session-value-0123456789",
    ]
    await logged.post(
        "/api/auth/login?code=" + secrets_sent[2],
        json={"email": "alice@example.com", "password": PASSWORD},
        headers={"Cookie": f"session={secrets_sent[4]}"},
    )
    await logged.get("/api/auth/profile", headers=bearer(secrets_sent[3]))
    await logged.post(
        "/api/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "someclient",
            "client_secret": secrets_sent[1],
            "code": secrets_sent[2],
        },
    )
    await logged.get(f"/api/oauth/apps/{secrets_sent[3]}")
    await logged.get(f"/api/oauth/token?access_token={secrets_sent[3]}")
    output = "\n".join(access_lines.lines)
    assert len(access_lines.lines) == 6
    for secret in secrets_sent:
        assert secret not in output
    assert "alice@example.com" not in output
    assert "auth_token" not in output


async def test_a_proxy_request_id_is_kept_and_a_malformed_one_replaced(
    logged: httpx.AsyncClient, access_lines: Lines
):
    kept = await logged.get("/health", headers={"X-Request-ID": "edge-4f2a.91"})
    replaced = await logged.get("/health", headers={"X-Request-ID": 'evil" id, {"status": 1}'})
    fresh = await logged.get("/health")
    assert kept.headers["x-request-id"] == "edge-4f2a.91"
    assert replaced.headers["x-request-id"] != 'evil" id, {"status": 1}'
    assert fresh.headers["x-request-id"] != replaced.headers["x-request-id"]
    ids = [line["request_id"] for line in access_lines.records()]
    assert ids == [
        "edge-4f2a.91",
        replaced.headers["x-request-id"],
        fresh.headers["x-request-id"],
    ]
    assert "evil" not in "\n".join(access_lines.lines)


async def test_an_unexpected_error_is_logged_as_a_500_error_line(
    settings: Settings, access_lines: Lines
):
    application = create_app(settings.model_copy(update={"access_log": True}))

    async def boom() -> None:
        raise RuntimeError("kaboom")

    application.add_api_route("/boom/{thing}", boom)
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/boom/x")
    await application.state.services.db.dispose()
    assert response.status_code == 500
    [line] = access_lines.records()
    assert (line["status"], line["level"], line["path"]) == (500, "error", "/boom/{thing}")


async def test_the_access_log_can_be_turned_off(settings: Settings, access_lines: Lines):
    application = create_app(settings.model_copy(update={"access_log": False}))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        assert (await http.get("/health")).status_code == 200
    await application.state.services.db.dispose()
    assert access_lines.lines == []


def test_lines_are_bare_json_with_a_utc_millisecond_timestamp(
    capsys: pytest.CaptureFixture[str],
):
    write = configure_access_log(True)
    assert write is not None and configure_access_log(False) is None
    write(method="GET", path="/health", status=200, duration_ms=1.5, client_ip=None, request_id="r")
    [line] = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["path"] == "/health"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["ts"])
    assert timestamp(0.25) == "1970-01-01T00:00:00.250Z"
    assert timestamp(86400 + 59.5) == "1970-01-02T00:00:59.500Z"


def test_text_lines_hold_the_same_fields(capsys: pytest.CaptureFixture[str]):
    write = configure_access_log(True, "text")
    assert write is not None
    write(
        method="POST",
        path="/api/oauth/token",
        status=503,
        duration_ms=12.345,
        client_ip="203.0.113.9",
        request_id="ab-1",
    )
    [line] = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        r"\S+Z ERROR access ab-1 POST /api/oauth/token 503 12\.35ms 203\.0\.113\.9", line
    )


async def test_an_unmatched_path_is_logged_as_unmatched_never_as_sent(
    logged: httpx.AsyncClient, access_lines: Lines
):
    """A path no route matches may carry a secret: it is `<unmatched>` in the log."""
    for path in ("/api/oauth/token/SECRETCODE123", "/SECRETCODE123?code=SECRETCODE123"):
        assert (await logged.get(path)).status_code == 404
    records = access_lines.records()
    assert [line["path"] for line in records] == ["<unmatched>", "<unmatched>"]
    assert "SECRETCODE123" not in "\n".join(access_lines.lines)


async def test_the_middleware_passes_other_scopes_through():
    seen: list[str] = []

    async def inner(scope, receive, send) -> None:
        seen.append(scope["type"])

    observer = RequestObserver(inner, metrics=True, access_log=None)
    await observer({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]


WORKER = """
from app.observability.metrics import observe_request, record_tokens_issued
observe_request("POST", "/api/oauth/token", 200, 0.004)
record_tokens_issued("refresh_token")
"""
SCRAPE = """
import os
from app.observability.metrics import exposition
print(exposition(os.environ["PROMETHEUS_MULTIPROC_DIR"])[0].decode())
"""


def test_several_workers_add_up_in_multiprocess_mode(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR, /metrics reports the sum of every worker's values."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def python(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    python(WORKER)
    python(WORKER)
    text = python(SCRAPE)
    assert 'tokens_issued_total{grant_type="refresh_token"} 2.0' in text
    assert 'http_requests_total{method="POST",route="/api/oauth/token",status="200"} 2.0' in text


async def test_the_token_flows_count_tokens_issued_and_revoked(client: httpx.AsyncClient):
    token = await user_token(client, "counted")
    oauth_app = await create_oauth_app(client, token)
    before = {
        "code": sample("tokens_issued_total", grant_type="authorization_code"),
        "refresh": sample("tokens_issued_total", grant_type="refresh_token"),
        "rotation": sample("tokens_revoked_total", reason="rotation"),
        "endpoint": sample("tokens_revoked_total", reason="revocation_endpoint"),
    }
    tokens = await issue_tokens(client, token, oauth_app)
    refreshed = (await refresh_tokens(client, oauth_app, tokens["refresh_token"])).json()
    await revoke_request(client, oauth_app, token=refreshed["access_token"])
    await revoke_request(client, oauth_app, token="unknown-token")

    assert sample("tokens_issued_total", grant_type="authorization_code") == before["code"] + 1
    assert sample("tokens_issued_total", grant_type="refresh_token") == before["refresh"] + 1
    assert sample("tokens_revoked_total", reason="rotation") == before["rotation"] + 1
    assert sample("tokens_revoked_total", reason="revocation_endpoint") == before["endpoint"] + 1


RAW_SCRAPE = """
import os
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
print(generate_latest(registry).decode())
"""
FIGURES_WORKER = """
import os
from app.observability.multiprocess import WorkerFigures
WorkerFigures(os.environ["PROMETHEUS_MULTIPROC_DIR"]).register()
print(os.getpid())
os._exit(0)  # dies without unregistering, as a killed worker would
"""


def test_a_dead_workers_process_figures_go_and_its_counts_stay(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def python(code: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    python(WORKER)
    dead_pid = python(FIGURES_WORKER).strip()
    assert (tmp_path / "workers" / dead_pid).exists()
    assert f'process_resident_memory_bytes{{pid="{dead_pid}"}}' in python(RAW_SCRAPE)
    text = python(SCRAPE)
    assert f'pid="{dead_pid}"' not in text
    assert 'tokens_issued_total{grant_type="refresh_token"} 1.0' in text
    assert not (tmp_path / "workers" / dead_pid).exists()
