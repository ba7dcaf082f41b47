"""`/docs` (Swagger UI) and `/redoc`, and their assets, served from this server: they work
without internet access, and under a Content-Security-Policy that allows no script but this
origin's (the account pages share the origin: their session cookie is out of scripts' reach,
but a script of this origin could still use the pages). `DOCS_ENABLED=false` leaves the
router out."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.docs_ui.assets import PREFIX, asset
from app.docs_ui.pages import REDOC_POLICY, SWAGGER_POLICY, redoc_page, swagger_page

router = APIRouter(include_in_schema=False)

COMMON_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
ASSET_HEADERS = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}


def _root(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    return HTMLResponse(
        swagger_page(app.title, app.openapi_url, _root(request)),
        headers={**COMMON_HEADERS, "Content-Security-Policy": SWAGGER_POLICY},
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    app = request.app
    return HTMLResponse(
        redoc_page(app.title, app.openapi_url, _root(request)),
        headers={**COMMON_HEADERS, "Content-Security-Policy": REDOC_POLICY},
    )


@router.get(PREFIX + "{name}")
async def docs_asset(name: str) -> Response:
    """A script, stylesheet or icon of the pages; any other name is the API's JSON 404."""
    found = asset(name)
    if found is None:
        raise HTTPException(404)
    content, media_type = found
    return Response(content, media_type=media_type, headers=ASSET_HEADERS)
