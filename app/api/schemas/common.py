"""Error bodies, for the OpenAPI docs of every endpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorMessage(BaseModel):
    """FitTrackee's error shape."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "error", "message": "invalid payload"}]}
    )

    status: str
    message: str


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2 / RFC 6750 §3.1 error shape."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}
            ]
        }
    )

    error: str
    error_description: str | None = None


DESCRIPTIONS = {
    400: "Invalid payload",
    401: "Missing, invalid, expired or logged-out token",
    403: "Token lacks the needed scope",
    404: "Not found",
    413: "Request body too large",
    429: "Too many attempts: a brute-force limit (see Retry-After)",
    503: "Database unavailable",
}

# The bodies each status usually carries; an endpoint can name its own with `examples=`.
DEFAULT_EXAMPLES: dict[int, list[dict[str, Any]]] = {
    400: [{"status": "error", "message": "invalid payload"}],
    401: [
        {"status": "error", "message": "provide a valid auth token"},
        {"status": "error", "message": "signature expired, please log in again"},
        {"status": "error", "message": "invalid token, please log in again"},
        {
            "error": "invalid_token",
            "error_description": (
                "The access token provided is expired, revoked, malformed, or invalid for "
                "other reasons."
            ),
        },
    ],
    403: [
        {
            "error": "insufficient_scope",
            "error_description": (
                "The request requires higher privileges than provided by the access token."
            ),
        }
    ],
    404: [{"status": "not found", "message": "the requested URL was not found on the server"}],
    413: [{"status": "error", "message": "request body too large"}],
    429: [{"status": "error", "message": "too many requests, retry later"}],
    503: [{"status": "error", "message": "database unavailable, try again later"}],
}

WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": (
            '`Bearer` when no token was sent; `Bearer error="invalid_token"` (401) or '
            '`Bearer error="insufficient_scope"` (403) otherwise (RFC 6750 §3)'
        ),
        "schema": {"type": "string"},
    }
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "string"}}
}


def error_responses(
    *codes: int, examples: Mapping[int, Sequence[Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the error answers of an endpoint.

    Each names its body schema (FitTrackee's `{status, message}`, or the RFC 6749/6750
    `{error, error_description}` for 403) and shows example bodies: `examples` maps a status
    to the bodies (dicts) or FitTrackee messages (strings) of that endpoint, replacing the
    defaults for that status.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        bodies = [
            {"status": "not found" if code == 404 else "error", "message": body}
            if isinstance(body, str)
            else body
            for body in (examples or {}).get(code, DEFAULT_EXAMPLES.get(code, []))
        ]
        entry: dict[str, Any] = {
            "model": OAuthErrorBody if code == 403 else ErrorMessage,
            "description": DESCRIPTIONS.get(code, "Error"),
        }
        if bodies:
            named: dict[str, Any] = {}
            for index, body in enumerate(bodies):
                name = _example_name(body, index)
                named[name if name not in named else f"{name} ({index})"] = {"value": body}
            entry["content"] = {"application/json": {"examples": named}}
        if code in (401, 403):
            entry["headers"] = WWW_AUTHENTICATE
        elif code in (429, 503):
            entry["headers"] = RETRY_AFTER
        responses[code] = entry
    return responses


def _example_name(body: Mapping[str, Any], index: int) -> str:
    text = str(body.get("message") or body.get("error") or index)
    return text.split("\n", 1)[0][:60] or str(index)
