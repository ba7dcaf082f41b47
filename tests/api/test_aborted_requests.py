"""Requests whose body never arrives whole (issue 10): a chunked body without its last chunk
is never acted on, and an aborted upload is logged as a disconnect, not as a 500 with a
traceback that anyone could use to fill the error log."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from app.api.body_limit import BodyLimitMiddleware
from tests.helpers import create_app as create_oauth_app
from tests.helpers import issue_tokens, user_token
from tests.live_server import live_server

DISCONNECT_LINE = "client disconnected before its request body was complete"


async def test_a_chunked_body_cut_short_never_reaches_the_app():
    called: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        called.append(scope)

    messages: list[Message] = [
        {"type": "http.request", "body": b"token=abc&client_id=x", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/oauth/revoke",
        "headers": [(b"transfer-encoding", b"chunked")],
    }
    await BodyLimitMiddleware(app, max_bytes=1024)(scope, receive, send)
    assert called == []
    assert sent == []  # nobody is left to answer


@pytest.fixture
def server(database_url: str, app, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log_path = tmp_path / "uvicorn.log"
    with live_server(database_url, log_path=log_path) as base_url:
        yield base_url, log_path


def raw_request(base_url: str, head: str, body: bytes) -> None:
    """Send `head` and `body`, then close the connection without waiting for an answer."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        time.sleep(0.2)


def wait_for(path: Path, text: str, count: int = 1, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        log = path.read_text()
        if log.count(text) >= count or time.monotonic() > deadline:
            return log
        time.sleep(0.1)


async def setup_tokens(base_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        user = await user_token(http, "alice")
        oauth_app = await create_oauth_app(http, user)
        return oauth_app, await issue_tokens(http, user, oauth_app)


async def test_a_revoke_whose_last_chunk_never_comes_revokes_nothing(server):
    base_url, log_path = server
    oauth_app, tokens = await setup_tokens(base_url)
    form = (
        f"token={tokens['access_token']}&client_id={oauth_app['client_id']}"
        f"&client_secret={oauth_app['client_secret']}"
    ).encode()
    head = (
        "POST /api/oauth/revoke HTTP/1.1\nHost: localhost\n"
        "Content-Type: application/x-www-form-urlencoded\nTransfer-Encoding: chunked\n"
    )
    raw_request(base_url, head, f"{len(form):x}\r\n".encode() + form + b"\r\n")  # no 0-chunk
    log = wait_for(log_path, DISCONNECT_LINE)
    assert DISCONNECT_LINE in log
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        profile = await http.get(
            "/api/auth/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    assert profile.status_code == 200  # the token was not revoked


@pytest.mark.parametrize("path", ["/api/oauth/token", "/api/oauth/revoke", "/api/oauth/authorize"])
async def test_an_aborted_upload_is_logged_as_a_disconnect_not_a_500(server, path: str):
    base_url, log_path = server
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        user = await user_token(http, "alice")
    head = (
        f"POST {path} HTTP/1.1\nHost: localhost\nAuthorization: Bearer {user}\n"
        "Content-Type: application/x-www-form-urlencoded\nContent-Length: 1000\n"
    )
    raw_request(base_url, head, b"grant_type=refresh_token&client_id=")
    log = wait_for(log_path, DISCONNECT_LINE)
    assert f"{DISCONNECT_LINE}: {path}" in log, log
    assert "Traceback" not in log
    assert "ClientDisconnect" not in log
    assert '"status":500' not in log
