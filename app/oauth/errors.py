"""One class per RFC 6749 / 6750 / 7009 error code (and the two of OpenID Connect's `prompt`),
each knowing its status and headers.

Routers turn any `OAuthError` into `{"error": ..., "error_description": ...}` (RFC 6749 §5.2)
with these headers; nothing else decides an OAuth2 error's wire form.

The descriptions are FitTrackee's, word for word (`Missing "code" in request.`), and so hold
`"`, which RFC 6749 §5.2 leaves out of `error_description` (%x20-21 / %x23-5B / %x5D-7E).
Clients written for FitTrackee match on them, so the JSON bodies keep them as they are; only
what goes into a `WWW-Authenticate` header is made a valid quoted-string (`quoted`).
"""

from __future__ import annotations


def quoted(value: str) -> str:
    """`value` as an RFC 9110 §5.6.4 quoted-string: inside the quotes, `"` and `\\` are sent
    as quoted pairs, so an auth-param value cannot end early or swallow the next one."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class OAuthError(Exception):
    error: str = "invalid_request"
    status_code: int = 400
    default_description: str | None = None

    def __init__(self, description: str | None = None) -> None:
        self.description = description if description is not None else self.default_description
        super().__init__(self.description or self.error)

    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 §5.2: 401, and `WWW-Authenticate: Basic` when the client used that header."""

    error = "invalid_client"
    status_code = 401

    def __init__(self, description: str | None = None, *, used_basic: bool = False) -> None:
        super().__init__(description)
        self.used_basic = used_basic

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="oauth2"'} if self.used_basic else {}


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"
    default_description = "The requested scope is invalid, unknown, or malformed."


class AccessDenied(OAuthError):
    error = "access_denied"
    default_description = "The resource owner or authorization server denied the request"


class LoginRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: `prompt=none`, and no user is logged in. Only ever sent
    to a validated redirect URI, never as a response body."""

    error = "login_required"


class ConsentRequired(OAuthError):
    """OpenID Connect Core §3.1.2.6: `prompt=none`, and the user has not approved (all of)
    the request before. Only ever sent to a validated redirect URI."""

    error = "consent_required"


class UnsupportedTokenType(OAuthError):
    error = "unsupported_token_type"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1: a bearer token that is expired, revoked or malformed."""

    error = "invalid_token"
    status_code = 401
    default_description = (
        "The access token provided is expired, revoked, malformed, or invalid for other reasons."
    )

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": bearer_challenge(self.error, self.description)}


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1: 403 naming the scope the resource needs."""

    error = "insufficient_scope"
    status_code = 403
    default_description = (
        "The request requires higher privileges than provided by the access token."
    )

    def __init__(self, scope: str, description: str | None = None) -> None:
        super().__init__(description)
        self.scope = scope

    def headers(self) -> dict[str, str]:
        return {
            "WWW-Authenticate": bearer_challenge(self.error, self.description, scope=self.scope)
        }


def bearer_challenge(error: str, description: str | None, **params: str) -> str:
    """RFC 6750 §3: `Bearer error="...", error_description="...", ...`, every value quoted."""
    pairs = {"error": error, "error_description": description, **params}
    return "Bearer " + ", ".join(
        f"{name}={quoted(value)}" for name, value in pairs.items() if value is not None
    )
