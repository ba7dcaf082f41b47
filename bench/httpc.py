"""A minimal HTTP/1.1 keep-alive client over an asyncio Protocol, for the flow workloads.

Why hand-written: the load generator shares a two-core machine with the server and must not be
the bottleneck. aiohttp/httpx spend 150-400 µs of Python per request; this client builds the
request bytes itself, parses only the status line, `Content-Length` (and chunked bodies, for
safety) and hands back the raw body: a few tens of µs per request under uvloop.

One `Connection` carries one request at a time (no pipelining), as a browser or an OAuth2 client
library would. It speaks only what the bench needs: plain http, identity bodies.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode, urlsplit

try:  # orjson is a dependency of the project; stdlib json works too.
    import orjson

    def dumps(value: object) -> bytes:
        return orjson.dumps(value)

    loads = orjson.loads
except ImportError:  # pragma: no cover - exercised only outside the project's virtualenv
    import json

    def dumps(value: object) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    loads = json.loads


class HTTPError(Exception):
    """The connection broke, or the server answered something this client cannot parse."""


def split_url(url: str) -> tuple[str, int, str]:
    """(host, port, path prefix) of a `http://host:port[/prefix]` URL."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only http://host:port URLs are supported, not {url!r}")
    return parts.hostname, parts.port or 80, parts.path.rstrip("/")


class _Protocol(asyncio.Protocol):
    """Accumulates bytes and completes the waiting future when one whole response is in."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None  # uvloop's is not a subclass
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None:
            self._complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HTTPError(f"connection lost: {exc or 'closed by peer'}"))
            self.waiter = None

    def _complete(self) -> None:
        buf = self.buffer
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buf[:end]).lower()
        try:
            status = int(head[9:12])
        except ValueError:
            self._fail(f"bad status line {head[:40]!r}")
            return
        start = end + 4
        pos = head.find(b"\r\ncontent-length:")
        if pos >= 0:
            stop = head.find(b"\r\n", pos + 2)
            length = int(head[pos + 17 : stop if stop >= 0 else None])
            if len(buf) < start + length:
                return
            body = bytes(buf[start : start + length])
            del buf[: start + length]
        elif b"\r\ntransfer-encoding: chunked" in head:
            decoded = self._dechunk(start)
            if decoded is None:
                return
            body, consumed = decoded
            del buf[:consumed]
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
            del buf[:start]
        else:
            self._fail("response without Content-Length")
            return
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))

    def _dechunk(self, pos: int) -> tuple[bytes, int] | None:
        buf, out = self.buffer, bytearray()
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                end = buf.find(b"\r\n", pos)  # no trailers expected
                return (bytes(out), end + 2) if end >= 0 else None
            if len(buf) < pos + size + 2:
                return None
            out += buf[pos : pos + size]
            pos += size + 2

    def _fail(self, reason: str) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(HTTPError(reason))
        if self.transport is not None:
            self.transport.close()


class Connection:
    """One keep-alive connection, opened on first use and reopened if the server closed it."""

    def __init__(self, host: str, port: int, prefix: str = "") -> None:
        self.host, self.port, self.prefix = host, port, prefix
        self._proto: _Protocol | None = None
        self._host_header = f"Host: {host}:{port}\r\n".encode()

    @classmethod
    def for_url(cls, url: str) -> Connection:
        return cls(*split_url(url))

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(_Protocol, self.host, self.port)
        self._proto = proto
        return proto

    def close(self) -> None:
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None

    def build(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str | None = None,
        token: str | None = None,
    ) -> bytes:
        """The request bytes; build once and `send()` many times when nothing changes."""
        head = [f"{method} {self.prefix}{path} HTTP/1.1\r\n".encode(), self._host_header]
        if token is not None:
            head.append(f"Authorization: Bearer {token}\r\n".encode())
        if body or method in ("POST", "PUT", "PATCH"):
            if content_type:
                head.append(f"Content-Type: {content_type}\r\n".encode())
            head.append(f"Content-Length: {len(body)}\r\n".encode())
        head.append(b"\r\n")
        return b"".join(head) + body

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """Send prepared request bytes, return (status, body)."""
        proto = self._proto
        if proto is None or proto.closed:
            proto = await self._connect()
        if proto.waiter is not None:
            raise HTTPError("one request at a time per connection")
        proto.buffer.clear()  # a stray response read before this request cannot be its answer
        fut: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        proto.waiter = fut
        assert proto.transport is not None
        proto.transport.write(raw)
        return await fut

    async def form(
        self, path: str, fields: dict[str, str], token: str | None = None
    ) -> tuple[int, bytes]:
        """POST an `application/x-www-form-urlencoded` body."""
        body = urlencode(fields).encode()
        return await self.send(
            self.build("POST", path, body, "application/x-www-form-urlencoded", token)
        )

    async def json(
        self, method: str, path: str, payload: object = None, token: str | None = None
    ) -> tuple[int, bytes]:
        body = b"" if payload is None else dumps(payload)
        ctype = "application/json" if payload is not None else None
        return await self.send(self.build(method, path, body, ctype, token))

    async def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        return await self.send(self.build("GET", path, token=token))
