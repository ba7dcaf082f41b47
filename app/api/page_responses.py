"""How the pages answer, and what every page request is checked for: its headers (a CSP
with no script at all), redirects, the `next` a login returns to, the same-origin check and
the CSRF token of every form that changes something.

Content-Security-Policy: nothing but this origin's stylesheet loads, no script runs, the
page cannot be framed (RFC 6749 §10.13), and forms post to this origin only, plus, on the
pages whose forms end in a redirect to an app (the consent page, a login on its way there),
that app's redirect URI: Chromium applies `form-action` to every redirect that follows a
form's POST, and the last of them goes to the app.

`Referrer-Policy: same-origin`: a page's URL (the consent page's holds the state and the
PKCE challenge) never reaches another site, while this site's own form posts keep their
`Origin` (under `no-referrer` a browser sends `Origin: null`, which the same-origin check
would refuse).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.accounts.web_sessions import PageSession, csrf_matches
from app.api.deps import services
from app.api.forms import MAX_VALUE_LENGTH, FormError, read_form
from app.api.session_cookie import current_session
from app.pages.render import message_page

DEFAULT_NEXT = "/profile/apps"
LOGIN = "/login"
NO_STORE = "no-store"
CSP_HOST = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\Z")
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*\Z")
FORM_REFUSED = (
    "This form was not sent from this site's own page, or the page is too old. Go back, "
    "reload the page and try again."
)


def content_security_policy(form_targets: Iterable[str] = ()) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "style-src 'self'",
            "img-src 'self'",
            " ".join(["form-action 'self'", *form_targets]),
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def page_headers(form_targets: Iterable[str] = ()) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(form_targets),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cache-Control": NO_STORE,
        "X-Content-Type-Options": "nosniff",
    }


def page(
    content: str,
    status_code: int = 200,
    *,
    form_targets: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    return HTMLResponse(
        content, status_code, headers={**page_headers(form_targets), **(headers or {})}
    )


def see_other(url: str) -> Response:
    """303 to `url`, a GET whatever the request was (RFC 9110 §15.4.4). An app's redirect
    URI with a code gets no Referer from here, and no cache keeps the answer."""
    return RedirectResponse(
        url, 303, headers={"Cache-Control": NO_STORE, "Referrer-Policy": "no-referrer"}
    )


def form_action_source(uri: str) -> str | None:
    """The CSP source that lets a form's redirect reach `uri` (CSP3 §2.3.1): its origin for
    http(s), its scheme for a private-use scheme. An IPv6 literal has no host-source form,
    so its scheme stands for it."""
    scheme = uri.partition(":")[0]
    if not SCHEME.match(scheme):
        return None
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        return f"{scheme}:"
    try:
        parts = urlsplit(uri)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return None
    if not CSP_HOST.match(host):
        return f"{scheme}:"
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def safe_next(value: str | None, default: str = DEFAULT_NEXT) -> str:
    """Where to go after logging in: a path of this site only (`/...`, never `//host` or
    `/\\host`, which browsers read as another site, nor anything with a scheme or a
    control character), else `default`."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if "\\" in value or any(ord(character) < 0x20 or ord(character) == 0x7F for character in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def path_with_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def to_login(next_url: str) -> Response:
    return see_other(f"{LOGIN}?{urlencode({'next': next_url})}")


def same_origin(request: Request, *, required: bool) -> bool:
    """Defence in depth beside the CSRF token (and the login's only one, as no session
    exists yet): a browser names the page a form was posted from in `Origin` (or else
    `Referer`), which must be this site: the request's own scheme and Host, or `ISSUER`'s.
    `required`: a request naming neither is refused too."""
    allowed = {f"{request.url.scheme}://{request.headers.get('host', '')}".lower()}
    issuer = services(request).settings.issuer
    if issuer:
        parts = urlsplit(issuer)
        allowed.add(f"{parts.scheme}://{parts.netloc}".lower())
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower() in allowed  # `null` (an opaque origin) is never this site
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() in allowed
    return not required


def refused_form(session: PageSession | None = None) -> HTMLResponse:
    """403: a state-changing form without this session's CSRF token, or from elsewhere."""
    return page(message_page("This form cannot be accepted", FORM_REFUSED, session=session), 403)


def bad_form(message: str, session: PageSession | None = None) -> HTMLResponse:
    return page(message_page("This request cannot be accepted", message, session=session), 400)


async def posted_form(
    request: Request, *, max_value_length: int = MAX_VALUE_LENGTH
) -> dict[str, str] | Response:
    """The body of a page's form (urlencoded or multipart; each field once), or a 400 page."""
    try:
        return await read_form(request, max_value_length=max_value_length)
    except FormError as exc:
        return bad_form(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")


async def session_post(
    request: Request,
    *,
    back: str | Callable[[dict[str, str]], str],
    max_value_length: int = MAX_VALUE_LENGTH,
) -> tuple[PageSession, dict[str, str]] | Response:
    """A form that changes something: the form, the live session, and the form's CSRF token
    checked in constant time against it, with the same-origin check. No session: to the
    login, then back to `back` (the page the form was on, or made from the form); nothing
    is done."""
    form = await posted_form(request, max_value_length=max_value_length)
    if isinstance(form, Response):
        return form
    session = await current_session(request)
    if session is None:
        return to_login(back if isinstance(back, str) else back(form))
    if not same_origin(request, required=False) or not csrf_matches(
        session, form.get("csrf_token")
    ):
        return refused_form(session)
    return session, form
