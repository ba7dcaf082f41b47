"""Rendering the pages: one layout (`templates/layout.html`), one body template per page, and
every value from a user, an app's record or a query escaped for where it lands (HTML text
or an attribute). No page carries a script: every action is a link or a form."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import quote, urlencode, urlsplit

from app.accounts.web_sessions import PageSession
from app.api.formats import MONTHS
from app.clients.authorized import AuthorizedApp, AuthorizedAppPage
from app.clients.details import ClientDetails, ClientPresentation
from app.clients.pagination import Pagination
from app.clients.service import ClientPage
from app.oauth.authorize import AskConsent
from app.pages.assets import STYLE_URL
from app.pages.scope_words import scope_words

TEMPLATES = Path(__file__).resolve().parent / "templates"
APPS_URL = "/profile/apps"
CONNECTED_URL = "/profile/apps/connected"


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _fill(template: str, /, **values: str) -> str:
    return _template(template).substitute(values)


def text(value: object) -> str:
    """A value as HTML text or inside a double-quoted attribute."""
    return html.escape(str(value), quote=True)


def day_and_time(value: datetime) -> str:
    """`1 December 2026, 16:32 UTC`: the same in every locale, as the API's dates are."""
    value = value.astimezone(UTC)
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}, {value:%H:%M} UTC"


def website_link(url: str, element_id: str = "website-link") -> str:
    """An app's website as a link when it is http(s) (as registration requires), as text
    otherwise; `noopener noreferrer` so the site learns nothing of this page."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return text(url)
    return (
        f'<a id="{element_id}" href="{text(url)}" rel="noopener noreferrer" '
        f'target="_blank">{text(url)}</a>'
    )


def with_page_query(path: str, **params: str | int | None) -> str:
    query = urlencode([(k, v) for k, v in params.items() if v is not None])
    return f"{path}?{query}" if query else path


# --- shared pieces ----------------------------------------------------------------------------


def layout(
    title: str,
    content: str,
    *,
    session: PageSession | None = None,
    current: str | None = None,
    narrow: bool = False,
) -> str:
    """The whole page: the header (with the account's navigation and a log-out form when
    someone is logged in and `current` names the section), and `content`."""
    navigation = ""
    if session is not None and current is not None:
        navigation = _fill(
            "navigation.html",
            username=text(session.user.username),
            csrf_token=text(session.csrf_token),
            apps_current=' aria-current="page"' if current == "apps" else "",
            connected_current=' aria-current="page"' if current == "connected" else "",
        )
    return _fill(
        "layout.html",
        title=text(title),
        style_url=STYLE_URL,
        navigation=navigation,
        width="narrow" if narrow else "",
        content=content,
    )


def _message(value: str | None) -> str:
    if not value:
        return ""
    return f'      <p id="form-message" class="message" role="alert">{text(value)}</p>'


def _notice(value: str | None) -> str:
    if not value:
        return ""
    return f'      <p id="notice" class="notice" role="status">{text(value)}</p>'


def _scope_items(scope: str, new: Iterable[str] = ()) -> str:
    marked = set(new)
    return "\n".join(
        f'        <li><span class="words">{text(words)}</span> <code>{text(item)}</code>'
        + (' <strong class="new">new</strong>' if item in marked else "")
        + "</li>"
        for item, words in scope_words(scope)
    )


def _pagination(path: str, pagination: Pagination) -> str:
    if pagination.pages <= 1 and pagination.page <= 1:
        return ""
    previous = (
        f'<a rel="prev" href="{text(with_page_query(path, page=pagination.page - 1))}">Previous</a>'
        if pagination.page > 1
        else "<span></span>"
    )
    following = (
        f'<a rel="next" href="{text(with_page_query(path, page=pagination.page + 1))}">Next</a>'
        if pagination.page < pagination.pages
        else "<span></span>"
    )
    return (
        '      <nav class="pages" aria-label="Pages">'
        f"{previous}<span>Page {pagination.page} of {max(pagination.pages, 1)}</span>"
        f"{following}</nav>"
    )


def _register_link(next_url: str, open_: bool) -> str:
    if not open_:
        return ""
    href = with_page_query("/register", next=next_url)
    return (
        f'      <p class="register">No account yet? <a id="register-link" href="{text(href)}">'
        "Create one</a>.</p>"
    )


def _login_form(next_url: str, email: str, cancel_url: str | None = None) -> str:
    cancel = ""
    if cancel_url is not None:
        cancel = f'          <a id="deny-link" class="button" href="{text(cancel_url)}">Cancel</a>'
    return _fill("login_form.html", next=text(next_url), email=text(email), cancel=cancel)


# --- pages ------------------------------------------------------------------------------------


def message_page(
    heading: str,
    message: str,
    *,
    error: str | None = None,
    explanation: str = "",
    session: PageSession | None = None,
) -> str:
    """A refusal or an error, in words; `error` is the RFC 6749 code when there is one."""
    code = f'      <p class="error-code">Error: <code id="error-code">{text(error)}</code></p>'
    body = _fill(
        "message.html",
        heading=text(heading),
        message=text(message),
        error_code=code if error else "",
        explanation=f"      <p>{explanation}</p>" if explanation else "",
    )
    return layout(heading, body, session=session, narrow=True)


def login_page(
    *, next_url: str, registration_open: bool, email: str = "", message: str | None = None
) -> str:
    body = _fill(
        "login.html",
        message=_message(message),
        login_form=_login_form(next_url, email),
        register=_register_link(next_url, registration_open),
    )
    return layout("Log in", body, narrow=True)


def register_page(
    *, next_url: str, username: str = "", email: str = "", message: str | None = None
) -> str:
    body = _fill(
        "register.html",
        message=_message(message),
        next=text(next_url),
        username=text(username),
        email=text(email),
        login_url=text(with_page_query("/login", next=next_url)),
    )
    return layout("Create an account", body, narrow=True)


def consent_page(
    ask: AskConsent,
    fields: Mapping[str, str],
    *,
    presentation: ClientPresentation,
    session: PageSession | None,
    here: str,
    registration_open: bool,
    email: str = "",
    message: str | None = None,
) -> str:
    """The app, what it asks for in plain words and where the browser goes next; then a
    login form (no one logged in), or the user's answer: a form posted with the session's
    CSRF token and the request's fields, which the server checks again."""
    reviewed = ask.reviewed
    new = ask.new_scopes if ask.remembered else frozenset()
    if session is None:
        decision = _fill(
            "consent_login.html",
            login_form=_login_form(here, email, cancel_url=reviewed.denial_url()),
            register=_register_link(here, registration_open),
        )
    else:
        hidden = "\n".join(
            f'          <input type="hidden" name="{text(name)}" value="{text(value)}">'
            for name, value in fields.items()
        )
        decision = _fill(
            "consent_decision.html",
            csrf_token=text(session.csrf_token),
            here=text(here),
            username=text(session.user.username),
            request_fields=hidden,
        )
    note = ""
    if ask.remembered:
        words = (
            "You approved the others before; <strong>new</strong> marks what this request adds."
            if new
            else "You approved all of these before."
        )
        note = f'      <p id="remembered-note" class="hint">{words}</p>'
    description = (
        f'      <p id="app-description">{text(presentation.description)}</p>'
        if presentation.description
        else ""
    )
    body = _fill(
        "consent.html",
        client_name=text(reviewed.client_name),
        website=website_link(reviewed.client_website),
        description=description,
        owner=text(presentation.owner),
        scope_items=_scope_items(reviewed.scope, new),
        remembered_note=note,
        redirect_uri=text(reviewed.redirect_uri),
        decision=_message(message) + "\n" + decision,
    )
    return layout(f"Authorize {reviewed.client_name}", body, narrow=True)


def apps_page(session: PageSession, page: ClientPage, notice: str | None = None) -> str:
    if page.clients:
        rows = "\n".join(
            f'        <li><h2><a href="{APPS_URL}/{client.id}">{text(client.name)}</a></h2>'
            f'<p class="meta">Client ID <code>{text(client.client_id)}</code> · registered '
            f"{day_and_time(client.issued_at)}</p></li>"
            for client in page.clients
        )
        items = f'      <ul id="apps" class="items">\n{rows}\n      </ul>'
    else:
        items = '      <p id="apps" class="empty">You have not registered an app yet.</p>'
    body = _fill(
        "apps.html",
        notice=_notice(notice),
        items=items,
        pagination=_pagination(APPS_URL, page.pagination),
    )
    return layout("My apps", body, session=session, current="apps")


def app_page(
    session: PageSession,
    client: ClientDetails,
    *,
    secret: str | None = None,
    secret_gone: bool = False,
    notice: str | None = None,
) -> str:
    """One of the user's apps; `secret` only on the page that follows its creation."""
    shown = ""
    if secret is not None:
        shown = (
            '      <div class="secret" role="status">\n'
            "        <h2>Client secret</h2>\n"
            "        <p>Copy it now: it is shown this once. The server keeps only its hash and "
            "cannot show it again.</p>\n"
            f'        <code id="client-secret">{text(secret)}</code>\n'
            "      </div>"
        )
    elif secret_gone:
        shown = (
            '      <p id="secret-gone" class="notice">The client secret was shown once, when the '
            "app was created; the server keeps only its hash. If it is lost, delete the app and "
            "create a new one.</p>"
        )
    uris = "\n".join(f"          <li><code>{text(uri)}</code></li>" for uri in client.redirect_uris)
    body = _fill(
        "app.html",
        name=text(client.name),
        notice=_notice(notice),
        secret=shown,
        client_id=text(client.client_id),
        website=website_link(client.website),
        description=text(client.description) if client.description else "None given",
        redirect_uris=uris,
        scope_items=_scope_items(client.scope),
        issued_at=day_and_time(client.issued_at),
        id=str(client.id),
    )
    return layout(client.name, body, session=session, current="apps")


def app_form_page(
    session: PageSession,
    catalogue: Iterable[str],
    values: Mapping[str, str],
    checked: Iterable[str],
    message: str | None = None,
) -> str:
    """The new-app form, with what was sent kept when it is shown again with a refusal."""
    chosen = set(checked)
    choices = "\n".join(
        '          <div class="check">'
        f'<input id="scope-{text(item.replace(":", "-"))}" name="scope.{text(item)}" '
        f'type="checkbox" value="on"{" checked" if item in chosen else ""}>'
        f'<label for="scope-{text(item.replace(":", "-"))}">{text(words)} '
        f"<code>{text(item)}</code></label></div>"
        for item, words in scope_words(" ".join(catalogue))
    )
    body = _fill(
        "app_form.html",
        message=_message(message),
        csrf_token=text(session.csrf_token),
        client_name=text(values.get("client_name", "")),
        client_uri=text(values.get("client_uri", "")),
        client_description=text(values.get("client_description", "")),
        redirect_uris=text(values.get("redirect_uris", "")),
        scope_choices=choices,
    )
    return layout("New app", body, session=session, current="apps")


def confirm_page(
    session: PageSession,
    *,
    title: str,
    question: str,
    detail: str,
    action: str,
    button: str,
    cancel_url: str,
    current: str,
) -> str:
    """The confirmation step before anything irreversible: a form posting `action`."""
    body = _fill(
        "confirm.html",
        title=text(title),
        question=text(question),
        detail=f'      <p class="hint">{text(detail)}</p>' if detail else "",
        action=text(action),
        csrf_token=text(session.csrf_token),
        cancel_url=text(cancel_url),
        button=text(button),
    )
    return layout(title, body, session=session, current=current, narrow=True)


def _connected_item(app: AuthorizedApp) -> str:
    remove = f"{CONNECTED_URL}/{quote(app.client_id, safe='')}/remove"
    last_used = day_and_time(app.last_used_at) if app.last_used_at else "Not yet"
    description = f"<p>{text(app.description)}</p>" if app.description else ""
    return (
        f'        <li data-client-id="{text(app.client_id)}">'
        f"<h2>{text(app.name)}</h2>"
        f'<p class="website">{website_link(app.website, "website-" + text(app.client_id))}</p>'
        f"{description}"
        f'<ul class="scopes">\n{_scope_items(app.scope)}\n        </ul>'
        '<dl class="facts">'
        f"<dt>First authorized</dt><dd>{day_and_time(app.first_authorized_at)}</dd>"
        f"<dt>Last got tokens</dt><dd>{last_used}</dd>"
        f"<dt>Sessions</dt><dd>{app.sessions}</dd></dl>"
        f'<div class="actions start"><a class="button danger remove" href="{text(remove)}">'
        "Remove access</a></div></li>"
    )


def connected_page(session: PageSession, page: AuthorizedAppPage, notice: str | None = None) -> str:
    if page.apps:
        rows = "\n".join(_connected_item(app) for app in page.apps)
        items = f'      <ul id="connected" class="items">\n{rows}\n      </ul>'
    else:
        items = '      <p id="connected" class="empty">No app has access to your account.</p>'
    body = _fill(
        "connected.html",
        notice=_notice(notice),
        items=items,
        pagination=_pagination(CONNECTED_URL, page.pagination),
    )
    return layout("Connected apps", body, session=session, current="connected")
