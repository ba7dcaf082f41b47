"""`GET /profile/apps/authorize`: the consent page (the path FitTrackee's web client serves it
at, so third-party apps built for FitTrackee send their users here), and its script and
stylesheet. With `/docs`, the only HTML this app answers.

The query is checked by the engine (`AuthorizationEndpoint.review`) before anything is shown:
an unknown client, an unregistered redirect URI or any other refusal is an HTML page with
status 400, never a redirect (RFC 6749 §4.1.2.1, RFC 9700 §4.1). The page is kept out of
frames (clickjacking, RFC 6749 §10.13), scripts come only from this origin, and the query
(state, PKCE challenge) never leaves in a Referer header.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from app.api.deps import services
from app.api.forms import FormError, single_valued
from app.api.routes.discovery import AUTHORIZATION_PAGE, issuer_of
from app.consent.assets import PREFIX, asset
from app.consent.pages import consent_page, error_page
from app.oauth.authorize import AuthorizationRequest
from app.oauth.errors import InvalidRequest, OAuthError

router = APIRouter(include_in_schema=False)

# The authorization request's parameters (RFC 6749 §4.1.1, RFC 7636 §4.3); any other query
# parameter is ignored (§3.1).
FIELDS = (
    "client_id",
    "response_type",
    "scope",
    "state",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
)
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self'",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
ASSET_HEADERS = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}


def _page(content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code, headers=PAGE_HEADERS)


def authorization_fields(request: Request) -> dict[str, str]:
    """The request's parameters from the query, by the forms' rule (`single_valued`: each at
    most once, empty ones dropped, none too long); InvalidRequest otherwise."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k in FIELDS]
    try:
        fields = single_valued(pairs)
    except FormError as exc:
        raise InvalidRequest(f"{exc}.") from None
    for required in ("client_id", "response_type"):
        if required not in fields:
            raise InvalidRequest(f'Missing "{required}" in request.')
    return fields


@router.get(AUTHORIZATION_PAGE)
async def consent(request: Request) -> Response:
    """The app's name, website and the scopes it would get, in plain words; the user logs in
    here if needed, then approves or denies (see `app/consent/static/consent.js`)."""
    try:
        fields = authorization_fields(request)
        svc = services(request)
        reviewed = await svc.oauth.authorization.review(
            AuthorizationRequest.from_params(fields, confirm=False),
            issuer=issuer_of(svc.settings, request),
        )
    except OAuthError as exc:
        return _page(error_page(exc.description or exc.error, exc.error), 400)
    return _page(consent_page(reviewed, fields))


@router.get(PREFIX + "{name}")
async def consent_asset(name: str) -> Response:
    """The page's script or stylesheet; any other name is the API's JSON 404."""
    found = asset(name)
    if found is None:
        raise HTTPException(404)
    content, media_type = found
    return Response(content, media_type=media_type, headers=ASSET_HEADERS)
