"""`/profile/apps*`: the user's own apps (list, create with the secret shown once, view,
revoke every token, delete) and the apps they let in (`/profile/apps/connected`, remove
access), at FitTrackee's paths. Each irreversible action has a confirmation page, and is a
form posted with the session's CSRF token.

The work is the API's: `app.clients.service` and `app.clients.authorized`, with the same
ownership rule (another user's app is "not found") and the same messages. A visit without a
session goes to `/login?next=<this page>`. Not in the OpenAPI document (pages, not API).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import APIRouter
from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from app.accounts.web_sessions import PageSession
from app.api.deps import services
from app.api.page_responses import page, path_with_query, see_other, session_post, to_login
from app.api.session_cookie import (
    clear_new_secret,
    current_session,
    new_secret,
    set_new_secret,
)
from app.clients.authorized import (
    AuthorizedApp,
    authorized_app,
    list_authorized_apps,
    revoke_authorized_app,
)
from app.clients.details import ClientDetails
from app.clients.errors import ClientError, ClientNotFound
from app.clients.metadata import MAX_REDIRECT_URIS, MAX_URI_LENGTH, parse_client_metadata
from app.clients.pagination import MAX_PAGE
from app.clients.service import (
    client_by_pk,
    client_pk_from_path,
    delete_client,
    list_clients,
    register_client,
    revoke_client_tokens,
)
from app.oauth.secrets import secret_matches
from app.pages.render import (
    APPS_URL,
    CONNECTED_URL,
    app_form_page,
    app_page,
    apps_page,
    confirm_page,
    connected_page,
    message_page,
)

router = APIRouter(include_in_schema=False)

NOTICES = {
    "deleted": "The app was deleted, with every code and token issued to it.",
    "revoked": "Every token issued to this app was revoked: its users must authorize it again.",
    "removed": "The app's access was removed: its tokens no longer work, and it has to ask "
    "you again.",
}
SCOPE_FIELD = "scope."
# The form's redirect URIs are one field: room for all of them (the body limit still holds).
REDIRECT_URIS_LENGTH = MAX_REDIRECT_URIS * (MAX_URI_LENGTH + 2)
_INTEGER = TypeAdapter(int)


def _page_number(request: Request) -> int:
    """`?page=N` as the API reads it, but forgiving: anything unusable is the first page."""
    try:
        number = _INTEGER.validate_python(request.query_params.get("page", "1"))
    except ValidationError:
        return 1
    return number if 1 <= number <= MAX_PAGE else 1


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


def _not_found(session: PageSession) -> Response:
    html = message_page(
        "App not found",
        "There is no such app among yours.",
        explanation=f'<a href="{APPS_URL}">Back to your apps</a>',
        session=session,
    )
    return page(html, 404)


def _pk(request: Request) -> int:
    return client_pk_from_path(str(request.path_params["id"]))


async def _signed_in(request: Request) -> PageSession | Response:
    session = await current_session(request)
    return session if session is not None else to_login(path_with_query(request))


# --- the user's own apps --------------------------------------------------------------------


@router.get(APPS_URL)
async def apps(request: Request) -> Response:
    session = await _signed_in(request)
    if isinstance(session, Response):
        return session
    listed = await list_clients(services(request).storage, session.user.id, _page_number(request))
    return page(apps_page(session, listed, _notice(request)))


def _new_app_form(
    request: Request,
    session: PageSession,
    values: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    svc = services(request)
    values = values or {}
    checked = [name[len(SCOPE_FIELD) :] for name in values if name.startswith(SCOPE_FIELD)]
    html = app_form_page(session, svc.scopes.scopes, values, checked, message)
    return page(html, status_code)


@router.get(APPS_URL + "/new")
async def new_app(request: Request) -> Response:
    session = await _signed_in(request)
    if isinstance(session, Response):
        return session
    return _new_app_form(request, session)


@router.post(APPS_URL + "/new")
async def register_new_app(request: Request) -> Response:
    """As `POST /api/oauth/apps` (the same checks and messages); then to the page that shows
    the secret, once."""
    checked = await session_post(
        request, back=APPS_URL + "/new", max_value_length=REDIRECT_URIS_LENGTH
    )
    if isinstance(checked, Response):
        return checked
    session, form = checked
    svc = services(request)
    body = {
        "client_name": form.get("client_name", ""),
        "client_uri": form.get("client_uri", ""),
        "client_description": form.get("client_description") or None,
        "redirect_uris": [
            line.strip() for line in form.get("redirect_uris", "").splitlines() if line.strip()
        ],
        "scope": " ".join(
            name[len(SCOPE_FIELD) :] for name in form if name.startswith(SCOPE_FIELD)
        ),
    }
    try:
        metadata = parse_client_metadata(body, svc.client_rules)
    except ClientError as exc:
        return _new_app_form(request, session, form, exc.message, exc.status_code)
    created = await register_client(svc.storage, session.user.id, metadata)
    response = see_other(f"{APPS_URL}/{created.client.id}/created")
    set_new_secret(response, request, created.client.id, created.client_secret)
    return response


async def _own_app(request: Request) -> tuple[PageSession, ClientDetails] | Response:
    """The session and the app of the path, or the answer instead: the login page when
    signed out, a 404 page when the app is not the user's."""
    session = await _signed_in(request)
    if isinstance(session, Response):
        return session
    try:
        client = await client_by_pk(services(request).storage, session.user.id, _pk(request))
    except ClientNotFound:
        return _not_found(session)
    return session, client


@router.get(APPS_URL + "/{id:int}")
async def app_details(request: Request) -> Response:
    found = await _own_app(request)
    if isinstance(found, Response):
        return found
    session, client = found
    return page(app_page(session, client, notice=_notice(request)))


@router.get(APPS_URL + "/{id:int}/created")
async def created_app(request: Request) -> Response:
    """The new app, with its secret when the one-time cookie carries it (and it is this
    app's: checked against the stored hash); reloading shows it no more."""
    found = await _own_app(request)
    if isinstance(found, Response):
        return found
    session, client = found
    carried = new_secret(request)
    record = await services(request).storage.clients.by_client_id(client_id=client.client_id)
    shown = None
    if carried and record is not None and secret_matches(carried, record.client_secret_hash):
        shown = carried
    response = page(app_page(session, client, secret=shown, secret_gone=shown is None))
    clear_new_secret(response, request, client.id)
    return response


def _confirmation(
    request: Request,
    session: PageSession,
    client: ClientDetails,
    *,
    action: str,
    title: str,
    question: str,
    detail: str,
    button: str,
) -> Response:
    html = confirm_page(
        session,
        title=title,
        question=question,
        detail=detail,
        action=f"{APPS_URL}/{client.id}/{action}",
        button=button,
        cancel_url=f"{APPS_URL}/{client.id}",
        current="apps",
    )
    return page(html)


@router.get(APPS_URL + "/{id:int}/revoke")
async def confirm_revoke(request: Request) -> Response:
    found = await _own_app(request)
    if isinstance(found, Response):
        return found
    session, client = found
    return _confirmation(
        request,
        session,
        client,
        action="revoke",
        title="Revoke all tokens",
        question=f"Revoke every token issued to {client.name}?",
        detail="Every user of the app is logged out of it, and has to authorize it again. "
        "The app itself stays.",
        button="Revoke all tokens",
    )


async def _act_on_own_app(
    request: Request, act: Callable[..., Awaitable[object]], done: str
) -> Response:
    """A confirmed form (session and CSRF checked) doing `act(storage, user_id, pk)` on the
    user's app of the path; then to `done` (`{pk}` filled in), or a 404 page."""
    checked = await session_post(request, back=f"{APPS_URL}/{request.path_params['id']}")
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    try:
        pk = _pk(request)
        await act(services(request).storage, session.user.id, pk)
    except ClientNotFound:
        return _not_found(session)
    return see_other(done.format(pk=pk))


@router.post(APPS_URL + "/{id:int}/revoke")
async def revoke(request: Request) -> Response:
    return await _act_on_own_app(request, revoke_client_tokens, APPS_URL + "/{pk}?done=revoked")


@router.get(APPS_URL + "/{id:int}/delete")
async def confirm_delete(request: Request) -> Response:
    found = await _own_app(request)
    if isinstance(found, Response):
        return found
    session, client = found
    return _confirmation(
        request,
        session,
        client,
        action="delete",
        title="Delete the app",
        question=f"Delete {client.name}?",
        detail="Its client ID and secret stop working, and every code and token issued to it "
        "is deleted with it. This cannot be undone.",
        button="Delete the app",
    )


@router.post(APPS_URL + "/{id:int}/delete")
async def delete(request: Request) -> Response:
    return await _act_on_own_app(request, delete_client, APPS_URL + "?done=deleted")


@router.get(CONNECTED_URL)
async def connected(request: Request) -> Response:
    session = await _signed_in(request)
    if isinstance(session, Response):
        return session
    listed = await list_authorized_apps(
        services(request).storage, session.user.id, _page_number(request)
    )
    return page(connected_page(session, listed, _notice(request)))


async def _connected_app(request: Request, session: PageSession) -> AuthorizedApp | None:
    storage = services(request).storage
    return await authorized_app(storage, session.user.id, request.path_params["client_id"])


def _not_connected(session: PageSession) -> Response:
    html = message_page(
        "App not found",
        "No such app has access to your account.",
        explanation=f'<a href="{CONNECTED_URL}">Back to your connected apps</a>',
        session=session,
    )
    return page(html, 404)


@router.get(CONNECTED_URL + "/{client_id}/remove")
async def confirm_remove(request: Request) -> Response:
    session = await _signed_in(request)
    if isinstance(session, Response):
        return session
    found = await _connected_app(request, session)
    if found is None:
        return _not_connected(session)
    html = confirm_page(
        session,
        title="Remove access",
        question=f"Remove {found.name}'s access to your account?",
        detail="Its tokens stop working at once, its sessions end, and it has to ask you "
        "again to get new ones.",
        action=f"{CONNECTED_URL}/{quote(found.client_id, safe='')}/remove",
        button="Remove access",
        cancel_url=CONNECTED_URL,
        current="connected",
    )
    return page(html)


@router.post(CONNECTED_URL + "/{client_id}/remove")
async def remove(request: Request) -> Response:
    checked = await session_post(request, back=CONNECTED_URL)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    try:
        await revoke_authorized_app(
            services(request).storage, session.user.id, request.path_params["client_id"]
        )
    except ClientNotFound:
        return _not_connected(session)
    return see_other(f"{CONNECTED_URL}?done=removed")
