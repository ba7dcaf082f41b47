"""`/health`: the process is up and the database answers (the Docker HEALTHCHECK)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from app import __version__
from app.api.deps import services
from app.api.responses import JSON, NO_STORE
from app.api.schemas.common import error_responses

router = APIRouter(tags=["operations"])


HEALTHY = {"status": "success", "database": "ok", "version": __version__}


class Health(BaseModel):
    status: str = "success"
    database: str = "ok"
    version: str = Field(description="This server's version.", examples=[__version__])


@router.get(
    "/health",
    response_model=Health,
    responses=error_responses(503),
    summary="Liveness and database reachability",
)
async def health(request: Request) -> Response:
    """200 when a `SELECT 1` through the database pool succeeds (the one the requests use),
    with the server's version; 503 JSON when the database cannot be reached (bounded by the
    pool and statement timeouts)."""
    await services(request).db.ping()
    return JSON(HEALTHY, headers=NO_STORE)
