"""`GET /metrics`: Prometheus text exposition (requests, latencies, tokens, 429s, process)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import services
from app.observability.metrics import exposition

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    """Scraped by Prometheus. Not secret, but not for the public either: keep it off the
    public side of the reverse proxy."""
    body, content_type = exposition(services(request).settings.prometheus_multiproc_dir)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
