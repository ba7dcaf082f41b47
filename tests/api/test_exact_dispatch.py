"""Exact dispatch (`app.api.exact_dispatch`): every endpoint that takes only the request is
called by an exact (method, path) lookup, with the answers FastAPI's own path would give."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.exact_dispatch import ExactDispatch, takes_only_the_request
from app.api.routes import (
    account_pages,
    app_pages,
    apps,
    auth,
    authorized_apps,
    consent,
    discovery,
    docs,
    health,
    instance_config,
    metrics,
    oauth,
)
from tests.helpers import bearer


class Refused(Exception):
    pass


def _tiny_app(reached: list[str]) -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/api")

    @router.get("/hot")
    async def hot(request: Request) -> Response:
        reached.append(f"hot {request.scope['route'].path}")
        if request.query_params.get("fail") == "handled":
            raise Refused
        if request.query_params.get("fail") == "unhandled":
            raise RuntimeError("boom")
        return JSONResponse({"hot": True})

    @router.get("/cold")
    async def cold() -> dict[str, bool]:
        reached.append("cold")
        return {"cold": True}

    @router.get("/returns-a-dict")
    async def returns_a_dict(request: Request) -> dict[str, bool]:
        reached.append("returns a dict")
        return {"dict": True}

    @app.exception_handler(Refused)
    async def _refused(_: Request, __: Refused) -> Response:
        return JSONResponse({"refused": True}, 418)

    app.include_router(router)
    app.add_middleware(ExactDispatch, fastapi_app=app, routers=[router])
    return app


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.get(path)


async def test_an_exact_route_answers_and_sets_the_route_for_metrics() -> None:
    reached: list[str] = []
    response = await _get(_tiny_app(reached), "/api/hot")
    assert response.status_code == 200
    assert response.json() == {"hot": True}
    assert reached == ["hot /api/hot"]


async def test_other_routes_and_methods_fall_through_to_fastapi() -> None:
    reached: list[str] = []
    app = _tiny_app(reached)
    assert (await _get(app, "/api/cold")).json() == {"cold": True}
    assert (await _get(app, "/api/returns-a-dict")).json() == {"dict": True}
    assert (await _get(app, "/api/nowhere")).status_code == 404
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.post("/api/hot")).status_code == 405
    assert reached == ["cold", "returns a dict"]


async def test_errors_go_through_the_apps_handlers_or_up_to_a_500() -> None:
    app = _tiny_app([])
    handled = await _get(app, "/api/hot?fail=handled")
    assert (handled.status_code, handled.json()) == (418, {"refused": True})
    assert (await _get(app, "/api/hot?fail=unhandled")).status_code == 500


def _route(path: str, endpoint: Any, **options: Any) -> APIRoute:
    router = APIRouter()
    router.add_api_route(path, endpoint, **options)
    [route] = router.routes
    assert isinstance(route, APIRoute)
    return route


async def _request_only(request: Request) -> Response:
    return Response()


async def _with_path_parameter(request: Request, item: str) -> Response:
    return Response()


async def _returning_data(request: Request) -> dict[str, str]:
    return {}


def _dependency() -> None:
    return None


def test_the_shape_is_the_request_alone_in_and_a_response_out() -> None:
    assert takes_only_the_request(_route("/items", _request_only))
    # Anything FastAPI's routing would have to supply is not that shape.
    assert not takes_only_the_request(_route("/items/{item}", _request_only))
    assert not takes_only_the_request(_route("/items/{item}", _with_path_parameter))
    assert not takes_only_the_request(
        _route("/items", _request_only, dependencies=[Depends(_dependency)])
    )
    assert not takes_only_the_request(_route("/items", _returning_data))


def _exact_dispatch_of(app: FastAPI) -> ExactDispatch:
    layer: Any = app.middleware_stack
    while not isinstance(layer, ExactDispatch):
        layer = layer.app
    return layer


async def test_every_endpoint_taking_only_the_request_is_dispatched_exactly(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """One rule for the whole app: the table holds exactly the routes of that shape, the
    client-authenticated /revoke and /introspect like /token."""
    await client.get("/health")
    table = _exact_dispatch_of(app).routes
    assert set(table) == {
        ("GET", "/api/auth/profile"),
        ("GET", "/api/oauth/apps"),
        ("GET", "/api/oauth/authorized_apps"),
        ("POST", "/api/oauth/authorize"),
        ("POST", "/api/oauth/token"),
        ("POST", "/api/oauth/revoke"),
        ("POST", "/api/oauth/introspect"),
        ("GET", "/health"),
        ("GET", "/metrics"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/profile/apps/authorize"),
        ("POST", "/profile/apps/authorize"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("GET", "/register"),
        ("POST", "/register"),
        ("GET", "/profile/apps"),
        ("GET", "/profile/apps/new"),
        ("POST", "/profile/apps/new"),
        ("GET", "/profile/apps/connected"),
        ("GET", "/api/config"),
        ("GET", "/docs"),
        ("GET", "/redoc"),
    }
    modules = (
        auth,
        apps,
        authorized_apps,
        oauth,
        health,
        discovery,
        instance_config,
        consent,
        account_pages,
        app_pages,
        metrics,
        docs,
    )
    routes = [route for module in modules for route in module.router.routes]
    # These are all of the app's routers: every documented path is on one of them.
    paths = {re.sub(r":\w+}", "}", getattr(route, "path", "")) for route in routes}
    assert set(app.openapi()["paths"]) <= paths
    for route in routes:
        assert isinstance(route, APIRoute)
        for method in route.methods:
            assert ((method, route.path) in table) == takes_only_the_request(route), route.path


async def test_the_profile_still_answers_like_fastapi_did(
    client: httpx.AsyncClient, alice: str
) -> None:
    missing = await client.get("/api/auth/profile")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json() == {"status": "error", "message": "provide a valid auth token"}
    found = await client.get("/api/auth/profile", headers=bearer(alice))
    assert found.status_code == 200
    assert found.json()["data"]["username"] == "alice"
    assert "x-request-id" in found.headers


@pytest.mark.parametrize("page", ["x", "1.5", ""])
async def test_a_page_that_is_not_an_integer_is_invalid_payload(
    client: httpx.AsyncClient, alice: str, page: str
) -> None:
    response = await client.get(f"/api/oauth/apps?page={page}", headers=bearer(alice))
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "invalid payload"}
