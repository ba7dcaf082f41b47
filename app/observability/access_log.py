"""One line per request on standard output: JSON (`LOG_FORMAT=json`) or plain text.

A line holds the method, the route template (never the query string, never a path
parameter's value), the status, the duration, the client IP and the request id: nothing a
request carries in its headers or body (Authorization, cookies, client secrets, codes,
tokens) can reach it, because none of those are ever read here.

The lines bypass the `logging` module on purpose: a `LogRecord` and its handler chain cost
several times what writing the line does, on every request (see issue 6's budget).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from typing import TextIO

import orjson

# Called with the keyword fields of `access_line`; writes the line.
AccessLog = Callable[..., None]

_second = -1
_second_text = ""


def timestamp(now: float) -> str:
    """ISO 8601 UTC with milliseconds, e.g. `2026-11-30T02:04:45.295Z`; the part up to the
    second is formatted once per second."""
    global _second, _second_text
    whole = int(now)
    if whole != _second:
        _second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second = whole
    return f"{_second_text}.{int((now - whole) * 1000):03d}Z"


def access_line(
    *,
    method: str,
    path: str,
    status: int,
    duration_ms: float,
    client_ip: str | None,
    request_id: str,
) -> str:
    return orjson.dumps(
        {
            "ts": timestamp(time.time()),
            "level": "error" if status >= 500 else "info",
            "logger": "access",
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 2),
            "client_ip": client_ip,
        }
    ).decode()


def access_text_line(
    *,
    method: str,
    path: str,
    status: int,
    duration_ms: float,
    client_ip: str | None,
    request_id: str,
) -> str:
    """The same fields as `access_line`, for a terminal (`LOG_FORMAT=text`)."""
    level = "ERROR" if status >= 500 else "INFO"
    return (
        f"{timestamp(time.time())} {level} access {request_id} {method} {path} {status} "
        f"{duration_ms:.2f}ms {client_ip or '-'}"
    )


def write_stdout(line: str) -> None:
    """Write one line to whatever `sys.stdout` is now (a test runner may swap it); a closed
    or broken stdout loses the line, never the request.

    The flush (a system call) is once per turn of the event loop, for every line written
    in it, not once per line; outside a running loop it is at once."""
    try:
        out = sys.stdout
        out.write(line + "\n")
    except (OSError, ValueError):
        return
    if out in _unflushed:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _flush(out)
        return
    _unflushed.add(out)
    loop.call_soon(_flush_unflushed)


_unflushed: set[TextIO] = set()


def _flush_unflushed() -> None:
    while _unflushed:
        _flush(_unflushed.pop())


def _flush(out: TextIO) -> None:
    with contextlib.suppress(OSError, ValueError):
        out.flush()


def configure_access_log(enabled: bool, log_format: str = "json") -> AccessLog | None:
    """The access log's writer, or None when `ACCESS_LOG=false`."""
    if not enabled:
        return None
    line = access_line if log_format == "json" else access_text_line

    def write(**fields: object) -> None:
        write_stdout(line(**fields))  # type: ignore[arg-type]

    return write
