"""The hot routes, dispatched by one dictionary lookup instead of FastAPI's machinery.

For an endpoint that needs nothing but the request, FastAPI's per-request work (matching
the path against every route's regex, solving an empty set of dependencies inside an exit
stack, wrapping the call in two more middleware layers) costs more than the token check the
request is for. Routes whose endpoint is marked `@direct` are still declared on the routers
(OpenAPI, docs and the 405s come from there), but this middleware, the innermost one, calls
their endpoint itself when method and path match exactly. Errors go through the app's own
exception handlers, so the answers are the ones FastAPI would give; anything unhandled is
raised to Starlette's `ServerErrorMiddleware` as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Any], Awaitable[Response]]
E = TypeVar("E", bound=Endpoint)


def direct(endpoint: E) -> E:
    """Mark an endpoint `async def (request: Request) -> Response` for direct dispatch."""
    endpoint.__direct__ = True  # type: ignore[attr-defined]
    return endpoint


class DirectRoutes:
    """`routers`: those the app includes without a prefix of its own, so that a route's path
    is the path it is served at."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI, routers: list[APIRouter]) -> None:
        self.app = app
        self.routes = _direct_routes(routers)
        # Starlette builds the middleware stack on the first request, when every handler
        # has been installed.
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


def _direct_routes(routers: list[APIRouter]) -> dict[tuple[str, str], APIRoute]:
    """(method, path) of every `@direct` route. A marked route that FastAPI would give more
    than the request (a path parameter, a dependency, another argument) is a mistake that
    would silently lose that: refuse to start."""
    table: dict[tuple[str, str], APIRoute] = {}
    for route in (route for router in routers for route in router.routes):
        if not isinstance(route, APIRoute) or not getattr(route.endpoint, "__direct__", False):
            continue
        parameters = list(inspect.signature(route.endpoint).parameters)
        if "{" in route.path or route.dependencies or parameters != ["request"]:
            raise TypeError(f"{route.path}: a @direct endpoint takes only the request")
        for method in route.methods:
            table[(method, route.path)] = route
    return table
