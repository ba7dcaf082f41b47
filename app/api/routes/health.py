"""`/health`: the process is up and the database answers (the Docker HEALTHCHECK)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import services
from app.api.responses import JSON, NO_STORE
from app.api.schemas.common import error_responses

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str = "success"
    database: str = "ok"


@router.get(
    "/health",
    response_model=Health,
    responses=error_responses(503),
    summary="Liveness and database reachability",
)
async def health(request: Request) -> Response:
    """200 when a `SELECT 1` through the database pool succeeds (the one the requests use);
    503 JSON when the database cannot be reached (bounded by the pool and statement
    timeouts)."""
    await services(request).db.ping()
    return JSON({"status": "success", "database": "ok"}, headers=NO_STORE)
