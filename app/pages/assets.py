"""The pages' one stylesheet, served by the app itself (no build step, no other asset).

It is read once, on first use, and answered from memory.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/static/pages/"
STYLE_URL = PREFIX + "pages.css"

MEDIA_TYPES = {"pages.css": "text/css; charset=utf-8"}


def asset(name: str) -> tuple[bytes, str] | None:
    """(content, media type) of a known asset; None for any other name (no path walking:
    only the names listed in `MEDIA_TYPES` are ever read)."""
    media_type = MEDIA_TYPES.get(name)
    if media_type is None:
        return None
    return _content(name), media_type


@cache
def _content(name: str) -> bytes:
    return (STATIC / name).read_bytes()
