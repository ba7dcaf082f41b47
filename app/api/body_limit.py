"""Refuse request bodies over the configured size before anything parses them.

A body with `Content-Length` is judged by that header alone. A body without it (HTTP/1.1
chunked transfer coding, RFC 9112 §7.1) is read here, up to the limit, and handed on whole:
the limit is small (64 KiB by default), and this way the refusal is the same 413 JSON
whichever route or parser would have read it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import BODY_TOO_LARGE, INVALID_PAYLOAD, error_response


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    await error_response(path, INVALID_PAYLOAD, 400)(scope, receive, send)
                elif int(value) > self.max_bytes:
                    await error_response(path, BODY_TOO_LARGE, 413)(scope, receive, send)
                else:
                    await self.app(scope, receive, send)
                return
            if name == b"transfer-encoding":
                chunked = True
        if not chunked:
            await self.app(scope, receive, send)
            return
        body = await self._read_up_to_limit(receive)
        if body is None:
            refusal = error_response(path, BODY_TOO_LARGE, 413, headers={"Connection": "close"})
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_up_to_limit(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it grows past the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":  # the client went away
                return b"".join(chunks)
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not msg.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the buffered body once, then waits on the real one
    (which reports the disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
