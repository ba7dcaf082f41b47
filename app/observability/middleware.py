"""`RequestObserver`: the pure ASGI middleware that times every HTTP request once and feeds
both the metrics and the access log, and gives each request an `X-Request-ID`.

Pure ASGI (no `BaseHTTPMiddleware`, no `Request` object): per request it costs a clock read,
one wrapped `send`, a cached metrics lookup and, when enabled, one log call.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.access_log import AccessLog
from app.observability.logs import REQUEST_ID
from app.observability.metrics import UNMATCHED, observe_request

REQUEST_ID_HEADER = b"x-request-id"
# A request id from a proxy is kept when it looks like one; anything else is replaced, so a
# client cannot put arbitrary text into the logs.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,64}")


class RequestIds:
    """Unique in this process and across workers: a random prefix and a counter."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}-{next(self._counter):x}"


def route_template(scope: Scope) -> str | None:
    """The matched route's path (e.g. `/api/oauth/apps/{client_id}`), set on the scope by the
    router; None when nothing matched."""
    route = scope.get("route")
    return getattr(route, "path", None) if route is not None else None


class RequestObserver:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: bool = True,
        access_log: AccessLog | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._request_id(scope)
        id_header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500
        # Log records made while serving this request carry its id (app.observability.logs).
        # Not reset afterwards: the server runs each request in a task of its own, and its
        # "Exception in ASGI application" line, logged after this returns, should carry it.
        REQUEST_ID.set(request_id)

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            method = scope["method"]
            if self.metrics:
                observe_request(method, template or UNMATCHED, status, elapsed)
            if self.access_log is not None:
                self._log(scope, method, template, status, elapsed, request_id)

    def _request_id(self, scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                if _REQUEST_ID.fullmatch(value):
                    return value.decode()
                break
        return self.ids.next()

    def _log(
        self,
        scope: Scope,
        method: str,
        template: str | None,
        status: int,
        elapsed: float,
        request_id: str,
    ) -> None:
        assert self.access_log is not None
        client = scope.get("client")
        # An unmatched path is never logged as sent: it may carry a code or a token
        # (`/api/oauth/token/SECRETCODE123`).
        self.access_log(
            method=method,
            path=template or UNMATCHED,
            status=status,
            duration_ms=elapsed * 1000,
            client_ip=client[0] if client else None,
            request_id=request_id,
        )
