"""JSON responses encoded with orjson, and the two error bodies the API speaks."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class JSON(JSONResponse):
    """A JSONResponse that encodes with orjson (several times faster than `json`)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def message(
    text: str, status_code: int, status: str = "error", headers: dict[str, str] | None = None
) -> JSON:
    """FitTrackee's error shape: `{"status": ..., "message": ...}`."""
    return JSON({"status": status, "message": text}, status_code, headers)
