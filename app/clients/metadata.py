"""The create-app body: FitTrackee's checks and messages first, then the ones FitTrackee lacks
(types, URI rules, length limits), so a client that FitTrackee accepts for the right reasons
gets the same answer here, and one it accepts by mistake gets a clear 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.clients.errors import InvalidClientMetadata
from app.clients.uris import (
    INVALID_SCHEME,
    private_use_schemes,
    redirect_uri_problem,
    website_problem,
)
from app.config import Settings
from app.oauth.scopes import ScopeCatalogue
from app.plain_text import refused_character

# FitTrackee checks these keys, in this order, and names the missing ones in its message.
EXPECTED_KEYS = ("client_name", "client_uri", "redirect_uris", "scope")

MAX_NAME_LENGTH = 255
MAX_URI_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 2000
MAX_REDIRECT_URIS = 10
MAX_SCOPE_LENGTH = 500

INVALID_PAYLOAD = "invalid payload"
METADATA_MISSING = "OAuth2 client metadata missing"
MISSING_KEYS = "OAuth2 client metadata missing keys: "
INVALID_SCOPES = "OAuth2 client invalid scopes"
INVALID = "OAuth2 client invalid "


@dataclass(frozen=True, slots=True)
class RegistrationRules:
    """What this instance lets an app register: its scope catalogue, and the private-use
    redirect URI schemes besides reverse-domain ones."""

    scopes: ScopeCatalogue
    private_schemes: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings, scopes: ScopeCatalogue) -> RegistrationRules:
        return cls(scopes, private_use_schemes(settings.extra_redirect_schemes))


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    """Validated app metadata, ready to store (FitTrackee's `name`/`website` column names)."""

    name: str
    website: str
    description: str | None
    redirect_uris: tuple[str, ...]
    scope: str


def _invalid(field: str, reason: str) -> InvalidClientMetadata:
    return InvalidClientMetadata(f"{INVALID}{field}: {reason}")


def client_scope(value: Any, scopes: ScopeCatalogue) -> str:
    """The canonical scope string (RFC 6749 §3.3), scopes outside the instance's catalogue
    dropped as FitTrackee does; refused when nothing valid remains or the value is not a
    string."""
    if not isinstance(value, str) or len(value) > MAX_SCOPE_LENGTH:
        raise InvalidClientMetadata(INVALID_SCOPES)
    known = scopes.known_in(value)
    if not known:
        raise InvalidClientMetadata(INVALID_SCOPES)
    return scopes.format(known)


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid("client_name", "a string is required")
    name = value.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise _invalid("client_name", f"1 to {MAX_NAME_LENGTH} characters required")
    if refused_character(name) is not None:
        raise _invalid("client_name", "control or format characters are not allowed")
    return name


def _description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid("client_description", "a string is required")
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise _invalid("client_description", f"{MAX_DESCRIPTION_LENGTH} characters maximum")
    if refused_character(value, multiline=True) is not None:
        raise _invalid("client_description", "control or format characters are not allowed")
    return value


def _website(value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid("client_uri", "a string is required")
    if len(value) > MAX_URI_LENGTH:
        raise _invalid("client_uri", f"{MAX_URI_LENGTH} characters maximum")
    problem = website_problem(value)
    if problem:
        raise _invalid("client_uri", problem)
    return value


def _redirect_uris(value: Any, private_schemes: frozenset[str]) -> tuple[str, ...]:
    """A non-empty array of acceptable redirect URIs, duplicates removed (order kept): each is
    later matched by exact string comparison (RFC 9700 §4.1.3). A refused scheme gets
    FitTrackee's message exactly; other refusals say which URI and why."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_REDIRECT_URIS:
        raise _invalid("redirect_uris", f"an array of 1 to {MAX_REDIRECT_URIS} URIs required")
    for index, uri in enumerate(value):
        where = f" (redirect_uris[{index}])"
        if not isinstance(uri, str):
            raise _invalid("redirect_uris", "a string is required" + where)
        if len(uri) > MAX_URI_LENGTH:
            raise _invalid("redirect_uris", f"{MAX_URI_LENGTH} characters maximum" + where)
        problem = redirect_uri_problem(uri, private_schemes)
        if problem == INVALID_SCHEME:
            raise InvalidClientMetadata(INVALID_SCHEME)
        if problem:
            raise _invalid("redirect_uris", problem + where)
    return tuple(dict.fromkeys(value))


def parse_client_metadata(body: Any, rules: RegistrationRules) -> ClientMetadata:
    """Validate a decoded JSON create-app body under `rules`; InvalidClientMetadata says what
    is wrong.

    Order: not an object (`invalid payload`), empty (`metadata missing`), missing keys, scope
    (FitTrackee's checks, so their precedence matches), then the other fields.
    """
    if not isinstance(body, dict):
        raise InvalidClientMetadata(INVALID_PAYLOAD)
    if not body:
        raise InvalidClientMetadata(METADATA_MISSING)
    missing = [key for key in EXPECTED_KEYS if key not in body]
    if missing:
        raise InvalidClientMetadata(MISSING_KEYS + ", ".join(missing))
    scope = client_scope(body["scope"], rules.scopes)
    return ClientMetadata(
        name=_name(body["client_name"]),
        website=_website(body["client_uri"]),
        description=_description(body.get("client_description")),
        redirect_uris=_redirect_uris(body["redirect_uris"], rules.private_schemes),
        scope=scope,
    )
