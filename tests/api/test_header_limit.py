"""The request head (request line and headers) is capped, as bodies are (issue 10: an 8 MB
header was accepted): past MAX_HEADER_BYTES a live server answers 431 JSON and closes the
connection before the app sees the request."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.live_server import live_server

CAP = 32 * 1024  # MAX_HEADER_BYTES's default


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    log_path = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    with live_server(database_url, log_path=log_path) as base_url:
        yield base_url, log_path


def exchange(base_url: str, head: bytes) -> bytes:
    """Send a whole request head, then read the answer until the server closes."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def request_head(path: str, padding: int) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nX-Padding: {'a' * padding}\r\n\r\n"
    ).encode()


def parse(answer: bytes) -> tuple[str, dict[str, str], dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return status, headers, json.loads(body)


def test_a_head_over_the_cap_is_431_json_and_closed(server):
    base_url, _ = server
    status, headers, body = parse(exchange(base_url, request_head("/health", CAP + 1000)))
    assert status == "HTTP/1.1 431 Request Header Fields Too Large"
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert body == {"status": "error", "message": "request header fields too large"}


def test_on_an_oauth2_endpoint_the_431_is_in_the_rfc_6749_shape(server):
    base_url, _ = server
    head = request_head("/api/oauth/token", CAP + 1000).replace(b"GET ", b"POST ", 1)
    status, headers, body = parse(exchange(base_url, head))
    assert status.startswith("HTTP/1.1 431")
    assert body == {
        "error": "invalid_request",
        "error_description": "Request header fields too large.",
    }
    assert headers["cache-control"] == "no-store"


def test_a_head_under_the_cap_is_served(server):
    base_url, _ = server
    with httpx.Client(base_url=base_url) as http:
        response = http.get("/health", headers={"X-Padding": "a" * (CAP - 1000)})
    assert response.status_code == 200


def test_a_header_that_never_ends_is_cut_off_while_it_arrives(server):
    """One endless header value: httptools would gather it whole before reporting it, so the
    cap counts what arrives, and the 431 comes while the head is still incomplete."""
    base_url, _ = server
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Endless: ")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(128):  # up to 8 MB, never the end of the header
                sock.sendall(b"a" * 65536)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


def test_an_8_mb_header_is_cut_off_and_the_server_carries_on(server):
    base_url, log_path = server
    parts = urlsplit(base_url)
    # the server stops reading long before the end: the send fails
    with (
        socket.create_connection((parts.hostname, parts.port), timeout=10) as sock,
        contextlib.suppress(BrokenPipeError, ConnectionResetError),
    ):
        sock.sendall(request_head("/health", 8 * 1024 * 1024))
    assert "refused a request head over 32768 bytes (431)" in Path(log_path).read_text()
    with httpx.Client(base_url=base_url) as http:
        assert http.get("/health").status_code == 200
