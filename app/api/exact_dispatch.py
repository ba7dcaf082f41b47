"""Exact dispatch: every endpoint that takes only the request is called by one dictionary
lookup of (method, path), instead of through FastAPI's routing.

For an endpoint that needs nothing but the request, FastAPI's per-request work (matching the
path against every route's pattern, solving an empty set of dependencies inside an exit stack,
two more middleware layers) costs more than the database round trip the request is for. One
rule, by shape, decides which endpoints skip it: `async def endpoint(request) -> Response`
on a path without parameters and with no dependencies. Every such route is dispatched here,
so no endpoint is fast by a marker someone forgot; any other route goes through FastAPI.

The routes are still declared on the routers (OpenAPI, docs and the 405s come from there).
This middleware, the innermost one, calls such an endpoint itself when method and path match
exactly. Errors go through the app's own exception handlers, so the answers are the ones
FastAPI would give; anything unhandled is raised to Starlette's `ServerErrorMiddleware`.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Request, Any], Awaitable[Response]]


def takes_only_the_request(route: APIRoute) -> bool:
    """The shape that is dispatched exactly: `(request) -> Response`, no path parameter, no
    dependency (anything more is what FastAPI's routing would have to supply)."""
    if "{" in route.path or route.dependencies:
        return False
    endpoint = route.endpoint
    if not inspect.iscoroutinefunction(endpoint):
        return False
    if list(inspect.signature(endpoint).parameters) != ["request"]:
        return False
    returns = typing.get_type_hints(endpoint).get("return")
    return isinstance(returns, type) and issubclass(returns, Response)


def exact_routes(routers: Iterable[APIRouter]) -> dict[tuple[str, str], APIRoute]:
    """(method, path) of every route of that shape on `routers`."""
    return {
        (method, route.path): route
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and takes_only_the_request(route)
        for method in route.methods
    }


class ExactDispatch:
    """`routers`: every router the app includes, each without a prefix of its own (so that a
    route's path is the path it is served at). Built by Starlette on the first request, when
    every exception handler is installed."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI, routers: list[APIRouter]) -> None:
        self.app = app
        self.routes = exact_routes(routers)
        self.handlers: dict[type[BaseException], Handler] = {
            kind: handler
            for kind, handler in fastapi_app.exception_handlers.items()
            if isinstance(kind, type) and kind is not Exception
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.routes.get((scope["method"], _route_path(scope)))
            if route is not None:
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                request = Request(scope, receive, send)
                try:
                    response = await route.endpoint(request)
                except Exception as exc:
                    handler = self._handler_for(exc)
                    if handler is None:
                        raise
                    response = await handler(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _handler_for(self, exc: Exception) -> Handler | None:
        """The app's handler for the nearest class of `exc`, as Starlette looks it up."""
        for kind in type(exc).__mro__:
            handler = self.handlers.get(kind)
            if handler is not None:
                return handler
        return None


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
