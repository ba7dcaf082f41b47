"""Extracting the client's credentials from a token or revocation request (RFC 6749 §2.3.1).

Only extraction: `app.oauth.clients.ClientAuthenticator` decides whether they are good.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote_plus

from starlette.requests import HTTPConnection

from app.api.deps import client_ip
from app.oauth.clients import AuthMethod, PresentedCredentials
from app.oauth.errors import InvalidClient, InvalidRequest

TWO_METHODS = "Use one client authentication method, not two (RFC 6749 §2.3)."

# For the OpenAPI document (and the "Authorize" button of /docs) only: the credentials are
# read by `presented_credentials`.
CLIENT_BASIC = "clientBasic"
CLIENT_BASIC_SCHEME = {
    "type": "http",
    "scheme": "basic",
    "description": "The app's `client_id` and `client_secret` in HTTP Basic "
    "(`client_secret_basic`, RFC 6749 §2.3.1); or send both in the form instead "
    "(`client_secret_post`), never both ways at once.",
}


def documented_client_authentication() -> dict[str, object]:
    """`openapi_extra` of the client-authenticated endpoints: HTTP Basic, or nothing in the
    headers (the form's client_id and client_secret)."""
    return {"security": [{CLIENT_BASIC: []}, {}]}


def presented_credentials(
    request: HTTPConnection, form: Mapping[str, str]
) -> PresentedCredentials | None:
    """`client_secret_basic` (the Authorization header) or `client_secret_post` (the
    form's client_id and client_secret); None when the request carries neither.

    With Basic, a client_id also sent in the form must be the same one, and a client_secret
    in the form is refused: a request uses one method only (§2.3). An Authorization header
    with another scheme is not client authentication and is ignored.
    """
    basic = _basic(request.headers.get("authorization"))
    if basic is not None:
        if "client_secret" in form:
            raise InvalidRequest(TWO_METHODS)
        client_id, client_secret = basic
        if form.get("client_id", client_id) != client_id:
            raise InvalidClient(used_basic=True)
        return PresentedCredentials(client_id, client_secret, AuthMethod.BASIC, client_ip(request))
    client_id = form.get("client_id")
    client_secret = form.get("client_secret")
    if client_id is None or client_secret is None:
        return None
    return PresentedCredentials(client_id, client_secret, AuthMethod.POST, client_ip(request))


def _basic(header: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) of `Basic base64(urlencoded id ":" urlencoded secret)`;
    InvalidClient (with the Basic challenge) when the header says Basic but is malformed."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidClient(used_basic=True) from None
    raw_id, colon, raw_secret = decoded.partition(":")
    if not colon:
        raise InvalidClient(used_basic=True)
    return unquote_plus(raw_id), unquote_plus(raw_secret)
