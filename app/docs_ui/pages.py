"""The HTML of `/docs` and `/redoc`: no inline script, every asset from this server with its
integrity digest, so the pages run under a strict Content-Security-Policy."""

from __future__ import annotations

from html import escape

from app.docs_ui.assets import PREFIX, integrity

# Swagger UI sets styles through the DOM (allowed), fetches the document and runs "Try it
# out" against this origin, and its stylesheet draws icons from data: URIs.
SWAGGER_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
# ReDoc writes its styles into <style> elements at run time (styled-components) and runs its
# search in a worker made from a blob: URL; scripts stay this origin's only.
REDOC_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "worker-src blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


def _script(root: str, name: str) -> str:
    return f'<script src="{root}{PREFIX}{name}" integrity="{integrity(name)}"></script>'


def _head(root: str, title: str, stylesheet: str | None = None) -> str:
    style = (
        f'<link rel="stylesheet" href="{root}{PREFIX}{stylesheet}" '
        f'integrity="{integrity(stylesheet)}">'
        if stylesheet
        else ""
    )
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="icon" type="image/png" href="{root}{PREFIX}favicon.png">\n'
        f"{style}\n</head>\n"
    )


def swagger_page(title: str, openapi_url: str, root: str = "") -> str:
    return (
        _head(root, f"{title} - Swagger UI", "swagger-ui.css")
        + f'<body>\n<div id="swagger-ui" data-openapi-url="{escape(root + openapi_url)}">'
        "</div>\n"
        + _script(root, "swagger-ui-bundle.js")
        + "\n"
        + _script(root, "swagger-init.js")
        + "\n</body>\n</html>\n"
    )


def redoc_page(title: str, openapi_url: str, root: str = "") -> str:
    """ReDoc starts by itself on the `<redoc spec-url>` element once its bundle loads."""
    return (
        _head(root, f"{title} - ReDoc")
        + f'<body>\n<redoc spec-url="{escape(root + openapi_url)}"></redoc>\n'
        + _script(root, "redoc.standalone.js")
        + "\n</body>\n</html>\n"
    )
