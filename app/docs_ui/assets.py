"""The documentation pages' scripts and stylesheets, served by the app itself.

Swagger UI and ReDoc come from the `fastapi-offline` package (PyPI), which ships their
release bundles for exactly this: serving FastAPI's docs without a CDN. Only its files are
used, not its FastAPI subclass, whose pages start Swagger UI with an inline script; ours is
`static/swagger-init.js`. Each file is read once, on first use, and given a Subresource
Integrity digest (sha384) that the pages put on their `<script>` and `<link>` tags.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

PREFIX = "/static/docs/"
OWN = Path(__file__).resolve().parent / "static"
BUNDLED = resources.files("fastapi_offline") / "static"

# name: (where it is, media type). No other name is ever read (no path walking).
ASSETS: dict[str, tuple[Traversable | Path, str]] = {
    "swagger-ui-bundle.js": (BUNDLED / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "swagger-ui.css": (BUNDLED / "swagger-ui.css", "text/css; charset=utf-8"),
    "redoc.standalone.js": (BUNDLED / "redoc.standalone.js", "text/javascript; charset=utf-8"),
    "favicon.png": (BUNDLED / "favicon.png", "image/png"),
    "swagger-init.js": (OWN / "swagger-init.js", "text/javascript; charset=utf-8"),
}


def asset(name: str) -> tuple[bytes, str] | None:
    """(content, media type) of a known asset; None for any other name."""
    known = ASSETS.get(name)
    if known is None:
        return None
    return content(name), known[1]


@cache
def content(name: str) -> bytes:
    return ASSETS[name][0].read_bytes()


@cache
def integrity(name: str) -> str:
    """The Subresource Integrity value of an asset (W3C SRI §3.1), e.g. `sha384-...`."""
    digest = hashlib.sha384(content(name)).digest()
    return "sha384-" + base64.b64encode(digest).decode()
