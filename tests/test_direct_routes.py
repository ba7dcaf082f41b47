"""The hot routes' direct dispatch (`app.api.direct_routes`) and the hot lane
(`app.db.direct`): same answers as FastAPI's own path, without its machinery."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.direct_routes import DirectRoutes, direct
from app.db.direct import NotPrebuilt
from app.db.models import User
from tests.helpers import bearer


class Refused(Exception):
    pass


def _tiny_app(reached: list[str]) -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/api")

    @router.get("/hot")
    @direct
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

    @app.exception_handler(Refused)
    async def _refused(_: Request, __: Refused) -> Response:
        return JSONResponse({"refused": True}, 418)

    app.include_router(router)
    app.add_middleware(DirectRoutes, fastapi_app=app, routers=[router])
    return app


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.get(path)


async def test_a_direct_route_answers_and_sets_the_route_for_metrics() -> None:
    reached: list[str] = []
    response = await _get(_tiny_app(reached), "/api/hot")
    assert response.status_code == 200
    assert response.json() == {"hot": True}
    assert reached == ["hot /api/hot"]


async def test_other_routes_and_methods_fall_through_to_fastapi() -> None:
    reached: list[str] = []
    app = _tiny_app(reached)
    assert (await _get(app, "/api/cold")).json() == {"cold": True}
    assert (await _get(app, "/api/nowhere")).status_code == 404
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.post("/api/hot")).status_code == 405
    assert reached == ["cold"]


async def test_errors_go_through_the_apps_handlers_or_up_to_a_500() -> None:
    app = _tiny_app([])
    handled = await _get(app, "/api/hot?fail=handled")
    assert (handled.status_code, handled.json()) == (418, {"refused": True})
    assert (await _get(app, "/api/hot?fail=unhandled")).status_code == 500


async def test_a_direct_endpoint_wanting_more_than_the_request_refuses_to_start() -> None:
    app = FastAPI()
    router = APIRouter()

    @router.get("/items/{item}")
    @direct
    async def item(request: Request) -> Response:
        return Response()

    app.include_router(router)
    app.add_middleware(DirectRoutes, fastapi_app=app, routers=[router])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        with pytest.raises(TypeError, match="takes only the request"):
            await http.get("/items/1")


def _direct_routes_of(app: FastAPI) -> DirectRoutes:
    layer: Any = app.middleware_stack
    while not isinstance(layer, DirectRoutes):
        layer = layer.app
    return layer


async def test_the_hot_routes_are_the_ones_dispatched_directly(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await client.get("/health")
    assert set(_direct_routes_of(app).routes) == {
        ("GET", "/api/auth/profile"),
        ("GET", "/api/oauth/apps"),
        ("POST", "/api/oauth/authorize"),
        ("POST", "/api/oauth/token"),
    }


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


async def test_the_hot_lane_takes_prebuilt_statements_only(app: FastAPI, is_postgres: bool) -> None:
    db = app.state.services.db
    async with db.hot() as storage:
        if not is_postgres:  # SQLite: the hot lane is plain autocommit
            assert (await storage.conn.execute(select(User.id))).all() == []
            return
        with pytest.raises(NotPrebuilt):
            await storage.conn.execute(select(User.id))
