"""`GET /profile/apps/authorize`: the consent page (the path FitTrackee's web client serves it
at, so third-party apps built for FitTrackee send their users here), and its script and
stylesheet. With `/docs` and `/redoc`, the only HTML this app answers; the page is in the
OpenAPI document (an HTML response), its assets are not.

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

router = APIRouter()

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


QUERY_DESCRIPTIONS = {
    "client_id": "The app's client_id.",
    "response_type": "`code` (the only one supported).",
    "scope": "Space-separated scopes; narrowed to the app's scopes; all of them when omitted.",
    "state": "Sent back unchanged to the redirect URI.",
    "redirect_uri": "One of the app's registered URIs, exactly; the first one when omitted.",
    "code_challenge": "PKCE: BASE64URL(SHA256(code_verifier)), 43 characters.",
    "code_challenge_method": "`S256` (mandatory with a code_challenge).",
}
PAGE_DOCUMENTATION = {
    "parameters": [
        {
            "name": name,
            "in": "query",
            "required": name in ("client_id", "response_type"),
            "description": description,
            "schema": {"type": "string"},
        }
        for name, description in QUERY_DESCRIPTIONS.items()
    ]
}
HTML = {"text/html": {"schema": {"type": "string"}}}
ERROR_MESSAGE_REF = {"$ref": "#/components/schemas/ErrorMessage"}


@router.get(
    AUTHORIZATION_PAGE,
    tags=["oauth2"],
    summary="The consent page a third-party app sends the user's browser to (HTML)",
    response_class=HTMLResponse,
    responses={
        200: {"description": "The page: log in, then approve or deny", "content": HTML},
        400: {
            "description": "The request cannot be accepted (unknown client_id, unregistered "
            "redirect_uri, bad PKCE parameters...): shown on the page, the browser is not "
            "sent back to the app",
            "content": HTML,
        },
        503: {
            "description": "Database unavailable (JSON, as everywhere)",
            "content": {"application/json": {"schema": ERROR_MESSAGE_REF}},
        },
    },
    openapi_extra=PAGE_DOCUMENTATION,
)
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


@router.get(PREFIX + "{name}", include_in_schema=False)
async def consent_asset(name: str) -> Response:
    """The page's script or stylesheet; any other name is the API's JSON 404."""
    found = asset(name)
    if found is None:
        raise HTTPException(404)
    content, media_type = found
    return Response(content, media_type=media_type, headers=ASSET_HEADERS)
