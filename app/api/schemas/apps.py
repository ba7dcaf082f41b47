"""App (OAuth2 client) requests and responses, FitTrackee 0.7 shapes.

The models document the API; the routes answer with the plain dicts built by `client_json`
(no per-request model validation on the hot path).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.api.formats import long_http_date
from app.clients.details import ClientDetails
from app.clients.metadata import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    MAX_REDIRECT_URIS,
    MAX_SCOPE_LENGTH,
    MAX_URI_LENGTH,
)
from app.clients.pagination import MAX_PAGE


class CreateAppRequest(BaseModel):
    """The create-app body (shown in the docs; the route validates it with FitTrackee's
    messages, see `app.clients.metadata`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client_name": "GPX Importer",
                    "client_uri": "https://example.com",
                    "client_description": "Imports GPX files",
                    "redirect_uris": ["https://example.com/callback"],
                    "scope": "profile:read workouts:write",
                }
            ]
        }
    )

    client_name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    client_uri: str = Field(max_length=MAX_URI_LENGTH, description="The app's website (http(s)).")
    client_description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)
    redirect_uris: list[str] = Field(
        min_length=1,
        max_length=MAX_REDIRECT_URIS,
        description=(
            f"Absolute URIs without fragments, each at most {MAX_URI_LENGTH} characters: https, "
            "http only on a loopback host (127.0.0.0/8, [::1], localhost), or a private-use "
            "scheme for native apps such as `com.example.app:/callback` (RFC 8252)."
        ),
    )
    scope: str = Field(
        max_length=MAX_SCOPE_LENGTH,
        description="Space-separated scopes; unknown ones are dropped if a valid one remains.",
    )


class AppClient(BaseModel):
    client_description: str | None
    client_id: str
    id: int
    issued_at: str = Field(examples=["Thu, 14 July 2022 06:27:53 GMT"])
    name: str
    redirect_uris: list[str]
    scope: str
    website: str


class CreatedAppClient(AppClient):
    client_secret: str = Field(description="Shown once, in this response only.")


class AppData(BaseModel):
    client: AppClient


class AppResponse(BaseModel):
    data: AppData
    status: str = "success"


class CreatedAppData(BaseModel):
    client: CreatedAppClient


class CreatedAppResponse(BaseModel):
    data: CreatedAppData
    status: str = "created"


class AppList(BaseModel):
    clients: list[AppClient]


class Pagination(BaseModel):
    has_next: bool
    has_prev: bool
    page: int
    pages: int
    total: int


class AppListResponse(BaseModel):
    data: AppList
    pagination: Pagination
    status: str = "success"


class RevokeResponse(BaseModel):
    status: str = "success"


PAGE_DESCRIPTION = (
    f"Page number, 5 apps a page, newest first. Below 1 means 1; above {MAX_PAGE}, or not an "
    "integer: 400."
)


def client_json(details: ClientDetails, client_secret: str | None = None) -> dict[str, Any]:
    """A client as FitTrackee shows it (keys in its order); the secret only when given."""
    client: dict[str, Any] = {
        "client_description": details.description,
        "client_id": details.client_id,
    }
    if client_secret is not None:
        client["client_secret"] = client_secret
    client["id"] = details.id
    client["issued_at"] = long_http_date(details.issued_at)
    client["name"] = details.name
    client["redirect_uris"] = list(details.redirect_uris)
    client["scope"] = details.scope
    client["website"] = details.website
    return client
