"""`make fuzz`: schemathesis against the API's own /openapi.json, through a real uvicorn.

Checks that no input gives a 5xx, that every answer is JSON where JSON is documented, and that
every response matches its documented status and schema. The budget (examples per operation)
comes from FUZZ_MAX_EXAMPLES so CI can bound it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.databases import fresh_database
from tests.helpers import PASSWORD, app_payload, bearer
from tests.live_server import live_server

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "negative_data_rejection",
    ]
)
# Logging out would spend the token the rest of the run uses.
EXCLUDED_PATHS = ["/api/auth/logout"]


def seed(base_url: str) -> str:
    """A user with one app; returns the user's auth token."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        user = {"username": "fuzzer", "email": "fuzzer@example.com", "password": PASSWORD}
        http.post("/api/auth/register", json={**user, "accepted_policy": True}).raise_for_status()
        login = http.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
        token = login.raise_for_status().json()["auth_token"]
        http.post("/api/oauth/apps", json=app_payload(), headers=bearer(token)).raise_for_status()
    return token


def main() -> int:
    examples = os.environ.get("FUZZ_MAX_EXAMPLES", "25")
    st = str(Path(sys.executable).with_name("st"))
    with (
        fresh_database(os.environ.get("DATABASE_URL"), prefix="oauth2_fuzz") as url,
        live_server(url) as base_url,
    ):
        token = seed(base_url)
        command = [
            st, "run", f"{base_url}/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", CHECKS,
            "--max-examples", examples,
            "--phases", "examples,coverage,fuzzing",
            "--request-timeout", "10",
            "--generation-allow-x00", "true",
            "--seed", os.environ.get("FUZZ_SEED", "1"),
            "--no-color",
            "--workers", "2",
        ]  # fmt: skip
        for path in EXCLUDED_PATHS:
            command += ["--exclude-path", path]
        return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
