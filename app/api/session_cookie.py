"""The one place that reads and writes the pages' cookies: the session's, and the one-time
cookie that carries a new app's secret to the page that shows it (`/profile/apps/<id>/created`).

The session cookie is `HttpOnly` (no page script can read it), `SameSite=Lax` (sent when a
third-party app sends the browser to the consent page, never on another site's POST or
subrequest), `Path=/`, and `Secure` with the `__Host-` prefix when the page is served over
https: the request's scheme (behind a proxy, `X-Forwarded-Proto` as uvicorn trusts it from
`FORWARDED_ALLOW_IPS`) or an https `ISSUER`. The JSON API never reads it: it takes bearer
tokens only, so no cookie opens it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.accounts.web_sessions import PageSession
from app.api.deps import services

SESSION = "fittrackee_session"
NEW_SECRET = "fittrackee_new_secret"
NEW_SECRET_SECONDS = 120


def served_securely(request: Request) -> bool:
    """Whether the browser sees this page over https."""
    return request.url.scheme == "https" or services(request).settings.issuer.startswith("https:")


def _session_name(request: Request) -> str:
    return f"__Host-{SESSION}" if served_securely(request) else SESSION


def _new_secret_name(request: Request) -> str:
    return f"__Secure-{NEW_SECRET}" if served_securely(request) else NEW_SECRET


def session_secret(request: Request) -> str | None:
    return request.cookies.get(_session_name(request))


async def current_session(request: Request) -> PageSession | None:
    """The live session the browser's cookie names, or None."""
    return await services(request).web_sessions.resume(session_secret(request))


def set_session(response: Response, request: Request, secret: str) -> None:
    """The cookie lives as long as the session may (`WEB_SESSION_LIFETIME`); the server
    ends it earlier when it idles or is logged out."""
    response.set_cookie(
        _session_name(request),
        secret,
        max_age=services(request).settings.web_session_lifetime,
        path="/",
        secure=served_securely(request),
        httponly=True,
        samesite="lax",
    )


def clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(
        _session_name(request),
        path="/",
        secure=served_securely(request),
        httponly=True,
        samesite="lax",
    )


def _created_path(client_pk: int) -> str:
    return f"/profile/apps/{client_pk}/created"


def set_new_secret(response: Response, request: Request, client_pk: int, secret: str) -> None:
    """Hand a new app's secret to the page after the redirect, never through a URL and never
    stored on the server: for `NEW_SECRET_SECONDS` at most, sent to that one path only
    (`SameSite=Strict`: never on a request another site starts), and cleared by the page
    that shows it."""
    response.set_cookie(
        _new_secret_name(request),
        secret,
        max_age=NEW_SECRET_SECONDS,
        path=_created_path(client_pk),
        secure=served_securely(request),
        httponly=True,
        samesite="strict",
    )


def new_secret(request: Request) -> str | None:
    """The secret the one-time cookie carries, if any."""
    return request.cookies.get(_new_secret_name(request))


def clear_new_secret(response: Response, request: Request, client_pk: int) -> None:
    response.delete_cookie(
        _new_secret_name(request),
        path=_created_path(client_pk),
        secure=served_securely(request),
        httponly=True,
        samesite="strict",
    )
