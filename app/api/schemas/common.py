"""Error bodies, for the OpenAPI docs of every endpoint."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorMessage(BaseModel):
    """FitTrackee's error shape."""

    status: str
    message: str


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2 / RFC 6750 §3.1 error shape."""

    error: str
    error_description: str | None = None


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for FitTrackee-shaped errors."""
    descriptions = {
        400: "Invalid payload",
        401: "Missing, invalid, expired or logged-out token",
        403: "Token lacks the needed scope",
        404: "Not found",
        413: "Request body too large",
        503: "Database unavailable",
    }
    return {
        code: {
            "model": OAuthErrorBody if code == 403 else ErrorMessage,
            "description": descriptions.get(code, "Error"),
        }
        for code in codes
    }
