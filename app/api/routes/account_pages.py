"""`/login`, `/logout` and `/register` (FitTrackee's paths), and the pages' stylesheet.

Logging in here checks what `POST /api/auth/login` checks, with the same account service,
messages and brute-force limits (`login_attempt`, counted before the password is checked),
and starts a cookie session instead of answering a JWT. A login form has no session yet to
hold a CSRF token, so its post must come from this site (`Origin` or `Referer`): another
site cannot log a visitor in to an account of its choosing. None of these pages is in the
OpenAPI document: they are for browsers, not API clients.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.accounts.service import AccountError
from app.accounts.web_sessions import csrf_matches
from app.api.deps import client_ip, rate_limits, services
from app.api.errors import TOO_MANY_REQUESTS
from app.api.page_responses import (
    form_action_source,
    page,
    posted_form,
    refused_form,
    safe_next,
    same_origin,
    see_other,
)
from app.api.routes.discovery import AUTHORIZATION_PAGE, issuer_of
from app.api.session_cookie import clear_session, current_session, session_secret, set_session
from app.oauth.authorize import AuthorizationRequest
from app.oauth.errors import OAuthError
from app.pages.assets import PREFIX, asset
from app.pages.render import login_page, message_page, register_page
from app.ratelimit import RateLimited

router = APIRouter(include_in_schema=False)

ASSET_HEADERS = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
MISSING_CREDENTIALS = "Enter your e-mail address and your password."
REGISTRATION_CLOSED = "Registration is closed on this instance."


async def form_targets_after(request: Request, next_url: str) -> list[str]:
    """The CSP `form-action` sources a login (or registration) form needs besides this site:
    when it leads back to the consent page, that page may answer with a redirect to the
    app at once (a remembered consent), which ends the form's chain of redirects."""
    parts = urlsplit(next_url)
    if parts.path != AUTHORIZATION_PAGE:
        return []
    fields = dict(parse_qsl(parts.query))
    if "client_id" not in fields or "response_type" not in fields:
        return []
    svc = services(request)
    try:
        reviewed = await svc.oauth.authorization.review(
            AuthorizationRequest.from_params(fields, confirm=False),
            issuer=issuer_of(svc.settings, request),
        )
    except OAuthError:
        return []
    source = form_action_source(reviewed.redirect_uri)
    return [source] if source else []


async def _login_form(
    request: Request,
    next_url: str,
    *,
    status_code: int = 200,
    email: str = "",
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    settings = services(request).settings
    html = login_page(
        next_url=next_url,
        registration_open=settings.registration_enabled,
        email=email,
        message=message,
    )
    targets = await form_targets_after(request, next_url)
    return page(html, status_code, form_targets=targets, headers=headers)


async def _signed_in(request: Request, user_id: int, next_url: str) -> Response:
    """A new session (the old one, if the browser had one, ends), and on to `next_url`."""
    sessions = services(request).web_sessions
    previous = session_secret(request)
    if previous:
        await sessions.end(previous)
    response = see_other(next_url)
    set_session(response, request, await sessions.start(user_id))
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if await current_session(request) is not None:
        return see_other(next_url)
    return await _login_form(request, next_url)


@router.post("/login")
async def log_in(request: Request) -> Response:
    form = await posted_form(request)
    if isinstance(form, Response):
        return form
    next_url = safe_next(form.get("next"))
    if not same_origin(request, required=True):
        return refused_form()
    email, password = form.get("email", ""), form.get("password", "")
    if not email or not password:
        return await _login_form(
            request, next_url, status_code=400, email=email, message=MISSING_CREDENTIALS
        )
    svc = services(request)
    try:
        async with rate_limits(request).login_attempt(client_ip(request), email) as attempt:
            user_id = await svc.accounts.authenticate(email=email, password=password)
            attempt.succeeded()
    except AccountError as exc:
        return await _login_form(
            request, next_url, status_code=exc.status_code, email=email, message=exc.message
        )
    except RateLimited as exc:
        return await _login_form(
            request,
            next_url,
            status_code=429,
            email=email,
            message=TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after)},
        )
    return await _signed_in(request, user_id, next_url)


@router.post("/logout")
async def log_out(request: Request) -> Response:
    """Ends the session for good (its row is deleted): the cookie opens nothing anywhere
    any more, on any worker."""
    form = await posted_form(request)
    if isinstance(form, Response):
        return form
    session = await current_session(request)
    if session is not None:
        if not same_origin(request, required=False) or not csrf_matches(
            session, form.get("csrf_token")
        ):
            return refused_form(session)
        await services(request).web_sessions.end(session.secret)
    response = see_other(safe_next(form.get("next"), default="/login"))
    clear_session(response, request)
    return response


def _registration_closed() -> Response:
    return page(message_page("Registration is closed", REGISTRATION_CLOSED), 403)


@router.get("/register")
async def registration_form(request: Request) -> Response:
    if not services(request).settings.registration_enabled:
        return _registration_closed()
    next_url = safe_next(request.query_params.get("next"))
    html = register_page(next_url=next_url)
    return page(html, form_targets=await form_targets_after(request, next_url))


@router.post("/register")
async def register(request: Request) -> Response:
    """As `POST /api/auth/register` (the same checks, messages and limit per IP), then
    logged in at once: the account is active straight away."""
    svc = services(request)
    if not svc.settings.registration_enabled:
        return _registration_closed()
    form = await posted_form(request)
    if isinstance(form, Response):
        return form
    next_url = safe_next(form.get("next"))
    if not same_origin(request, required=True):
        return refused_form()
    username, email = form.get("username", ""), form.get("email", "")

    async def again(
        status_code: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        html = register_page(next_url=next_url, username=username, email=email, message=message)
        targets = await form_targets_after(request, next_url)
        return page(html, status_code, form_targets=targets, headers=headers)

    try:
        await rate_limits(request).guard_registration(client_ip(request))
        user_id = await svc.accounts.register(
            username=username,
            email=email,
            password=form.get("password", ""),
            accepted_policy=form.get("accepted_policy") == "true",
        )
    except AccountError as exc:
        return await again(exc.status_code, exc.message)
    except RateLimited as exc:
        return await again(429, TOO_MANY_REQUESTS, {"Retry-After": str(exc.retry_after)})
    return await _signed_in(request, user_id, next_url)


@router.get(PREFIX + "{name}")
async def page_asset(name: str) -> Response:
    """The pages' stylesheet; any other name is the API's JSON 404."""
    found = asset(name)
    if found is None:
        raise HTTPException(404)
    content, media_type = found
    return Response(content, media_type=media_type, headers=ASSET_HEADERS)
