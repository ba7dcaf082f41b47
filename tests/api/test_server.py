"""A smoke test against a real uvicorn process, started the way a user starts it: only
DATABASE_URL (the test database) and SECRET_KEY in the environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import __version__
from tests.helpers import PASSWORD
from tests.live_server import live_server


@pytest.fixture
def server(database_url: str, app, tmp_path: Path) -> Iterator[str]:
    """uvicorn on a free port against the test database (requesting `app` empties it first),
    started with only DATABASE_URL and SECRET_KEY; it must then stop cleanly."""
    log_path = tmp_path / "uvicorn.log"
    with live_server(database_url, as_a_user_would=True, log_path=log_path) as base_url:
        yield base_url
    log = log_path.read_text()
    assert "Application shutdown complete" in log, log
    assert "Traceback" not in log, log


def test_a_real_server_registers_logs_in_and_serves_the_profile(server):
    with httpx.Client(base_url=server, timeout=10) as http:
        health = http.get("/health")
        assert health.json() == {"status": "success", "database": "ok", "version": __version__}

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
