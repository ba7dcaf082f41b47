"""A real uvicorn process for the tests that need one (smoke, end-to-end, races, faults)."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.certificates import ServerCertificate
from tests.helpers import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
# Settings a developer's shell might carry; a user's server does with the two it is given.
HTTP_PROTOCOL = "app.http_limits:HeaderLimitedHttpToolsProtocol"
TEST_SETTINGS = ("APP_ENV", "ARGON2_ROUNDS", "ARGON2_MEMORY_COST", "DATA_DIR", "CORS_ORIGINS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(
    database_url: str,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    as_a_user_would: bool = False,
    log_path: Path | None = None,
    tls: ServerCertificate | None = None,
    launcher: bool = False,
    serve_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Serve the app with uvicorn on a free port; yields its base URL, stops it after.

    `as_a_user_would`: only DATABASE_URL and SECRET_KEY are set (no test settings, default
    log level). `log_path`: where the server's output goes, kept for the caller to read.
    `tls`: serve https with this certificate (the base URL is then https://127.0.0.1:...).
    `launcher`: started as an operator does, by `fittrackee-oauth2 serve` (its checks, its
    log configuration, its metrics directory), rather than by uvicorn directly, with
    `serve_args` (e.g. `--migrate`).
    """
    port = free_port()
    if as_a_user_would:
        inherited = {k: v for k, v in os.environ.items() if k not in TEST_SETTINGS}
        server_env = {**inherited, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY}
    else:
        server_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET_KEY,
            "APP_ENV": "test",
            "ARGON2_ROUNDS": "1",
            "ARGON2_MEMORY_COST": "1024",
            "RATE_LIMITS_ENABLED": "false",
        }
    if launcher:
        server_env.update({"HOST": "127.0.0.1", "PORT": str(port), "WORKERS": str(workers)})
        if not as_a_user_would:
            server_env.update({"LOG_LEVEL": "warning", "ACCESS_LOG": "false"})
        command = [sys.executable, "-m", "app.cli", "serve", *serve_args]
    else:
        command = [
            sys.executable, "-m", "uvicorn", "app.asgi:app",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--http", HTTP_PROTOCOL,  # as `fittrackee-oauth2 serve` serves
        ]  # fmt: skip
        if not as_a_user_would:
            command += ["--log-level", "warning", "--no-access-log"]
        if tls is not None:
            command += ["--ssl-certfile", str(tls.cert_file), "--ssl-keyfile", str(tls.key_file)]
    if tls is not None and launcher:
        raise ValueError("tls is for a server started by uvicorn directly")
    server_env.update(env or {})
    # Output goes to a file: an unread pipe fills up and then blocks the server's logging.
    if log_path is not None:
        log = log_path.open("wb")
    else:
        log = tempfile.NamedTemporaryFile(prefix="uvicorn-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        command, cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT
    )
    base_url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=str(tls.ca_file)) if tls else True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = Path(log.name).read_text()
                raise RuntimeError(f"uvicorn exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{base_url}/health", timeout=1, verify=verify).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not become healthy in 30 s")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if log_path is None:
            Path(log.name).unlink(missing_ok=True)
