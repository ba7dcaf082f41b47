"""`/health`: the process is up and the database answers."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import services
from app.api.responses import JSON
from app.api.schemas.common import error_responses

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    database: str


@router.get("/health", response_model=Health, responses=error_responses(503))
async def health(request: Request) -> Response:
    async with services(request).db.connection() as conn:
        await conn.execute(text("SELECT 1"))
    return JSON({"status": "success", "database": "ok"})
