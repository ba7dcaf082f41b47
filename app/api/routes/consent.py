"""`/profile/apps/authorize`: the consent page (the path FitTrackee's web client serves it at,
so third-party apps built for FitTrackee send their users here), on the pages' cookie session.

GET: the engine checks the query and decides (`AuthorizationEndpoint.interact`): an unknown
client, an unregistered redirect URI or any other refusal is an HTML page with status 400,
never a redirect (RFC 6749 §4.1.2.1, RFC 9700 §4.1); a request within what the user approved
before, or any `prompt=none`, is a 303 back to the app; otherwise the page shows the app,
its owner and what it asks for in plain words, with a login form when no one is logged in.
POST: the user's answer, a form with the session's CSRF token carrying the request's
fields, which the engine checks again; approving issues a code and remembers the consent,
and either answer is a 303 to the app's redirect URI. No token is ever in the page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import services
from app.api.forms import FormError, single_valued
from app.api.page_responses import (
    form_action_source,
    page,
    path_with_query,
    see_other,
    session_post,
)
from app.api.routes.discovery import AUTHORIZATION_PAGE, issuer_of
from app.api.session_cookie import current_session
from app.oauth.authorize import INVALID_CLIENT_ID, AuthorizationRequest, SendBack
from app.oauth.errors import InvalidRequest, OAuthError
from app.pages.render import consent_page, message_page

router = APIRouter()

# The authorization request's parameters (RFC 6749 §4.1.1, RFC 7636 §4.3, and OpenID Connect
# Core §3.1.2.1's `prompt`); any other query parameter is ignored (§3.1).
FIELDS = (
    "client_id",
    "response_type",
    "scope",
    "state",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
    "prompt",
)
# What the answer's form carries back: the request as received, `prompt` aside (an answer
# is the user's, whatever the app asked).
ANSWER_FIELDS = FIELDS[:-1]
REFUSED_EXPLANATION = (
    "The app that sent you here made a request FitTrackee cannot accept, so you have not "
    "been sent back to it. You can close this page; if the problem persists, tell the app's "
    "developers."
)


def authorization_fields(
    pairs: list[tuple[str, str]], names: tuple[str, ...] = FIELDS
) -> dict[str, str]:
    """The request's parameters, by the forms' rule (`single_valued`: each at most once,
    empty ones dropped, none too long); InvalidRequest otherwise."""
    try:
        fields = single_valued([(k, v) for k, v in pairs if k in names])
    except FormError as exc:
        raise InvalidRequest(f"{exc}.") from None
    for required in ("client_id", "response_type"):
        if required not in fields:
            raise InvalidRequest(f'Missing "{required}" in request.')
    return fields


def refused(error: OAuthError) -> Response:
    """A request shown to the user instead of redirected (RFC 6749 §4.1.2.1)."""
    html = message_page(
        "This authorization request cannot be processed",
        error.description or error.error,
        error=error.error,
        explanation=REFUSED_EXPLANATION,
    )
    return page(html, 400)


QUERY_DESCRIPTIONS = {
    "client_id": "The app's client_id.",
    "response_type": "`code` (the only one supported).",
    "scope": "Space-separated scopes; narrowed to the app's scopes; all of them when omitted.",
    "state": "Sent back unchanged to the redirect URI.",
    "redirect_uri": "One of the app's registered URIs, exactly; the first one when omitted.",
    "code_challenge": "PKCE: BASE64URL(SHA256(code_verifier)), 43 characters.",
    "code_challenge_method": "`S256` (mandatory with a code_challenge).",
    "prompt": "OpenID Connect's: `consent` always asks (so do `login` and `select_account`); "
    "`none` never shows the page, and answers `login_required` or `consent_required` to the "
    "redirect URI; absent, a request for no more than the user approved on this page before "
    "is approved at once.",
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
LOCATION = {
    "Location": {
        "description": "The redirect URI with `code`, `state` and `iss` (RFC 9207), or with "
        "`error` (`login_required`, `consent_required`), `state` and `iss`",
        "schema": {"type": "string"},
    }
}


@router.get(
    AUTHORIZATION_PAGE,
    tags=["oauth2"],
    summary="The consent page a third-party app sends the user's browser to (HTML)",
    response_class=Response,
    responses={
        200: {
            "description": "The page: the app and what it asks for; log in, then approve or deny",
            "content": HTML,
        },
        303: {
            "description": "Back to the app at once: a code, when the user approved no less "
            "on this page before (and `prompt` is not `consent`), or `prompt=none`'s error",
            "headers": LOCATION,
        },
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
    """The app's name, website, owner and description, and the scopes it would get in plain
    words; the user logs in here if needed, then approves or denies."""
    svc = services(request)
    try:
        fields = authorization_fields(request.query_params.multi_items())
        session = await current_session(request)
        outcome = await svc.oauth.authorization.interact(
            session.user.id if session else None,
            AuthorizationRequest.from_params(fields, confirm=False),
            issuer=issuer_of(svc.settings, request),
        )
    except OAuthError as exc:
        return refused(exc)
    if isinstance(outcome, SendBack):
        return see_other(outcome.url)
    presentation = await svc.storage.clients.presentation(pk=outcome.reviewed.client_pk)
    if presentation is None:  # deleted since the engine read it
        return refused(InvalidRequest(INVALID_CLIENT_ID))
    html = consent_page(
        outcome,
        {name: fields[name] for name in ANSWER_FIELDS if name in fields},
        presentation=presentation,
        session=session,
        here=path_with_query(request),
        registration_open=svc.settings.registration_enabled,
    )
    source = form_action_source(outcome.reviewed.redirect_uri)
    return page(html, form_targets=[source] if source else [])


@router.post(AUTHORIZATION_PAGE, include_in_schema=False)
async def answer(request: Request) -> Response:
    """The user's answer: Approve (a code, and the consent remembered) or Deny
    (`access_denied`), each a 303 to the validated redirect URI. Without a session, to the
    login and back to the page; without this session's CSRF token, refused (403)."""
    checked = await session_post(request, back=_page_of)
    if isinstance(checked, Response):
        return checked
    session, body = checked
    decision = body.get("decision")
    svc = services(request)
    issuer = issuer_of(svc.settings, request)
    try:
        fields = authorization_fields(list(body.items()), ANSWER_FIELDS)
        approval = AuthorizationRequest.from_params(fields, confirm=decision == "approve")
        if decision == "approve":
            url = await svc.oauth.authorization.authorize(
                session.user.id, approval, issuer=issuer, remember=True
            )
        elif decision == "deny":
            url = (await svc.oauth.authorization.review(approval, issuer=issuer)).denial_url()
        else:
            raise InvalidRequest('Missing "decision": approve or deny.')
    except OAuthError as exc:
        return refused(exc)
    return see_other(url)


def _page_of(answer: dict[str, str]) -> str:
    """The consent page an answer was given on, to come back to after logging in."""
    fields = [(name, answer[name]) for name in ANSWER_FIELDS if name in answer]
    return f"{AUTHORIZATION_PAGE}?{urlencode(fields)}"
