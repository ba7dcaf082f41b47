"""Authorize, token, revoke and introspect: their form fields and answers, for the OpenAPI docs.

The routers read the forms themselves (`app.api.forms`, for duplicate and size checks), so
these models only describe them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.api.forms import MULTIPART, URLENCODED
from app.api.schemas.common import RETRY_AFTER, ErrorMessage, OAuthErrorBody


class AuthorizeForm(BaseModel):
    """The user's approval of an app (RFC 6749 §4.1.1, RFC 7636 §4.3)."""

    client_id: str = Field(description="The app's client_id.")
    response_type: str = Field(description="`code` (the only one supported).")
    confirm: str = Field(description="`true` when the user approves (case-insensitive).")
    scope: str | None = Field(
        default=None,
        description="Space-separated scopes; narrowed to the app's scopes; all of them when "
        "omitted.",
    )
    redirect_uri: str | None = Field(
        default=None,
        description="One of the app's registered URIs, exactly; the first one when omitted.",
    )
    state: str | None = Field(default=None, description="Echoed in the redirect URL.")
    code_challenge: str | None = Field(
        default=None, description="PKCE: BASE64URL(SHA256(code_verifier)), 43 characters."
    )
    code_challenge_method: str | None = Field(
        default=None, description="`S256` (mandatory with a code_challenge)."
    )


class AuthorizeResponse(BaseModel):
    redirect_url: str = Field(
        description="The app's redirect URI with `code` (and `state`) in its query: where the "
        "first-party client sends the browser.",
        examples=["https://example.com/callback?code=eDvsKriAxTLKuRfX...&state=st4te"],
    )
    status: str = "success"


class AuthorizeError(ErrorMessage):
    """FitTrackee's error shape; an OAuth2 refusal also names its RFC 6749 §4.1.2.1 code."""

    error: str | None = Field(
        default=None,
        description="For OAuth2 refusals: invalid_request, unsupported_response_type, "
        "invalid_scope or access_denied.",
    )
    error_description: str | None = None


class TokenForm(BaseModel):
    """RFC 6749 §4.1.3 (authorization_code) and §6 (refresh_token). The client authenticates
    with HTTP Basic (`client_secret_basic`) or with client_id and client_secret here
    (`client_secret_post`), not both."""

    grant_type: str = Field(description="`authorization_code` or `refresh_token`.")
    client_id: str | None = None
    client_secret: str | None = None
    code: str | None = Field(default=None, description="authorization_code: the code.")
    redirect_uri: str | None = Field(
        default=None,
        description="authorization_code: required, identical, when it was sent to authorize.",
    )
    code_verifier: str | None = Field(
        default=None, description="authorization_code: the PKCE verifier."
    )
    refresh_token: str | None = Field(default=None, description="refresh_token: the token.")
    scope: str | None = Field(
        default=None, description="refresh_token: the same or a narrower scope."
    )


class TokenResponse(BaseModel):
    """RFC 6749 §5.1, sent with `Cache-Control: no-store` and `Pragma: no-cache`."""

    access_token: str
    expires_in: int = Field(examples=[864000])
    refresh_token: str
    scope: str = Field(examples=["profile:read workouts:read"])
    token_type: str = "Bearer"


class RevokeForm(BaseModel):
    """RFC 7009 §2.1; the client authenticates as at the token endpoint."""

    token: str = Field(description="An access token or a refresh token.")
    token_type_hint: str | None = Field(
        default=None, description="`access_token` or `refresh_token`; ignored."
    )
    client_id: str | None = None
    client_secret: str | None = None


class IntrospectForm(BaseModel):
    """RFC 7662 §2.1; the client authenticates as at the token endpoint."""

    token: str = Field(description="An access token or a refresh token of this client.")
    token_type_hint: str | None = Field(
        default=None, description="`access_token` or `refresh_token`; ignored."
    )
    client_id: str | None = None
    client_secret: str | None = None


class IntrospectionResponse(BaseModel):
    """RFC 7662 §2.2, sent with `Cache-Control: no-store`. An unknown, expired or revoked
    token, or another client's, is exactly `{"active": false}`."""

    active: bool
    scope: str | None = Field(default=None, examples=["profile:read workouts:read"])
    client_id: str | None = Field(default=None, description="The client the token was issued to.")
    username: str | None = Field(default=None, description="The user the token speaks for.")
    sub: str | None = Field(default=None, description="The user's id, as a string.")
    token_type: str | None = Field(
        default=None, description="`Bearer` for an access token; absent for a refresh token."
    )
    exp: int | None = Field(default=None, description="Expiry, seconds since the epoch.")
    iat: int | None = Field(default=None, description="Issue time, seconds since the epoch.")


class EmptyObject(BaseModel):
    """`{}`"""

    model_config = ConfigDict(extra="forbid")


def form_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` declaring `model` as the urlencoded or multipart request body."""
    schema = {"schema": model.model_json_schema()}
    return {"requestBody": {"required": True, "content": {URLENCODED: schema, MULTIPART: schema}}}


OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": OAuthErrorBody,
        "description": "RFC 6749 §5.2: invalid_request (also a malformed form or a parameter "
        "sent twice), invalid_grant, invalid_scope, unsupported_grant_type",
    },
    401: {
        "model": OAuthErrorBody,
        "description": "invalid_client; with `WWW-Authenticate: Basic` when HTTP Basic was used",
    },
    405: {"model": ErrorMessage, "description": "Method not allowed (POST only)"},
    413: {"model": ErrorMessage, "description": "Request body too large"},
    429: {
        "model": ErrorMessage,
        "description": "Too many failed client authentications for this client_id (see "
        "Retry-After)",
        "headers": RETRY_AFTER,
    },
    503: {"model": ErrorMessage, "description": "Database unavailable"},
}
