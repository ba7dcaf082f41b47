"""Refuse request bodies over the configured size before anything parses them.

A body with `Content-Length` is judged by that header alone. A body without it (HTTP/1.1
chunked transfer coding, RFC 9112 §7.1) is read here, up to the limit, and handed on whole:
the limit is small (64 KiB by default), and this way the refusal is the same 413 JSON
whichever route or parser would have read it. A chunked body whose last chunk never arrives
(the client went away) is never handed on: an incomplete request is not acted on.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import BODY_TOO_LARGE, INVALID_PAYLOAD, error_response, log_disconnect


class BodyTooLarge(Exception):
    pass


class BodyIncomplete(Exception):
    pass


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
        try:
            body = await self._read_up_to_limit(receive)
        except BodyTooLarge:
            refusal = error_response(path, BODY_TOO_LARGE, 413, headers={"Connection": "close"})
            await refusal(scope, receive, send)
            return
        except BodyIncomplete:
            log_disconnect(path)  # nobody is left to answer
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_up_to_limit(self, receive: Receive) -> bytes:
        """The whole body; BodyTooLarge as soon as it grows past the limit, BodyIncomplete
        when the client disconnects before its last chunk."""
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":  # http.disconnect
                raise BodyIncomplete
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise BodyTooLarge
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
