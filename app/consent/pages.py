"""Rendering the consent page and its error page: every value from the client record or the
query is escaped for where it lands (HTML text, an attribute, or the JSON data block)."""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from app.consent.assets import SCRIPT_URL, STYLE_URL
from app.consent.scope_words import scope_words
from app.oauth.authorize import ReviewedRequest

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Inside <script type="application/json">, "</script>" or "<!--" would end or change the
# block; JSON allows these characters escaped, and JSON.parse reads them back unchanged.
_JSON_IN_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _text(value: str) -> str:
    return html.escape(value, quote=True)


def json_for_html(data: object) -> str:
    """`data` as JSON that cannot break out of the `<script>` element holding it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_JSON_IN_HTML)


def _website(url: str) -> str:
    """The app's website as a link when it is http(s) (as registration requires), as text
    otherwise; `noopener noreferrer` so the site learns nothing of this page."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return _text(url)
    return f'<a href="{_text(url)}" rel="noopener noreferrer" target="_blank">{_text(url)}</a>'


def consent_page(reviewed: ReviewedRequest, fields: dict[str, str]) -> str:
    """The page asking the user to approve `reviewed`'s app.

    `fields` are the authorization request's parameters as received: the script sends them,
    with `confirm=true`, to `POST /api/oauth/authorize`, which checks them again. The denial
    URL is computed here from the validated redirect URI, never by the script.
    """
    items = "\n".join(
        f'        <li><span class="words">{_text(words)}</span> <code>{_text(scope)}</code></li>'
        for scope, words in scope_words(reviewed.scope)
    )
    data = {"authorize": fields, "deny_url": reviewed.denial_url()}
    return _template("consent.html").substitute(
        client_name=_text(reviewed.client_name),
        website=_website(reviewed.client_website),
        scope_items=items,
        redirect_uri=_text(reviewed.redirect_uri),
        request_json=json_for_html(data),
        script_url=SCRIPT_URL,
        style_url=STYLE_URL,
    )


def error_page(message: str, error: str) -> str:
    """A refused request, shown to the user instead of a redirect (RFC 6749 §4.1.2.1)."""
    return _template("error.html").substitute(
        message=_text(message), error=_text(error), style_url=STYLE_URL
    )
