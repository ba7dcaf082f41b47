"""The one place that reads a bearer token out of a request (RFC 6750 §2.1)."""

from __future__ import annotations

from starlette.requests import HTTPConnection


def bearer_token(request: HTTPConnection) -> str | None:
    """The token of `Authorization: Bearer <token>` (scheme case-insensitive), else None.

    Tokens in the query string or body are not accepted (RFC 9700 §4.3.2 discourages them).
    """
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token
