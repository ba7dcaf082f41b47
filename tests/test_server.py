"""A smoke test against a real uvicorn process, started the way a user starts it: only
DATABASE_URL (the test database) and SECRET_KEY in the environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import PASSWORD, TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
# Settings a developer's shell might carry; the server must do with the two a user gives.
SETTINGS_VARIABLES = ("APP_ENV", "ARGON2_ROUNDS", "ARGON2_MEMORY_COST", "DATA_DIR", "CORS_ORIGINS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(database_url: str, app, tmp_path: Path) -> Iterator[str]:
    """uvicorn on a free port against the test database (requesting `app` empties it first)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(DATABASE_URL=database_url, SECRET_KEY=TEST_SECRET_KEY)
    log_path = tmp_path / "uvicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.asgi:app",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"uvicorn exited {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn not healthy within 30 s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # A clean stop on SIGTERM (uvicorn re-raises the signal once it has shut down).
    assert process.returncode in (0, -signal.SIGTERM), log_path.read_text()
    assert "Application shutdown complete" in log_path.read_text()
    assert "Traceback" not in log_path.read_text()


def test_a_real_server_registers_logs_in_and_serves_the_profile(server):
    with httpx.Client(base_url=server, timeout=10) as http:
        health = http.get("/health")
        assert health.json() == {"status": "success", "database": "ok"}

        registered = http.post(
            "/api/auth/register",
            json={
                "username": "smoke",
                "email": "smoke@example.com",
                "password": PASSWORD,
                "accepted_policy": True,
            },
        )
        assert registered.status_code == 200, registered.text

        logged_in = http.post(
            "/api/auth/login", json={"email": "smoke@example.com", "password": PASSWORD}
        )
        assert logged_in.status_code == 200, logged_in.text
        headers = {"Authorization": f"Bearer {logged_in.json()['auth_token']}"}

        profile = http.get("/api/auth/profile", headers=headers)
        assert profile.status_code == 200
        assert profile.json()["data"]["username"] == "smoke"

        assert http.post("/api/auth/logout", headers=headers).status_code == 200
        refused = http.get("/api/auth/profile", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'

        missing = http.get("/nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/json"
        docs = http.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        assert "/api/auth/login" in http.get("/openapi.json").json()["paths"]

        # Malformed HTTP-level input still gets JSON from the app.
        raw = http.post(
            "/api/auth/login", content=b"{", headers={"content-type": "application/json"}
        )
        assert raw.status_code == 400
        assert raw.json() == {"status": "error", "message": "invalid payload"}
