"""The apps a user let in (`/api/oauth/authorized_apps`), in FitTrackee's envelope and
pagination. The models document the API; the route answers with `authorized_app_json`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.api.formats import long_http_date
from app.api.schemas.apps import Pagination
from app.clients.authorized import AuthorizedApp
from app.clients.pagination import MAX_PAGE


class AuthorizedAppItem(BaseModel):
    client_id: str
    name: str
    website: str
    description: str | None
    scope: str = Field(
        description="Space-separated, in catalogue order: every scope the app's live tokens "
        "and unused codes hold, and those of the remembered consent (what it may get again "
        "without asking)."
    )
    first_authorized_at: str = Field(
        examples=["Thu, 14 July 2022 06:27:53 GMT"],
        description="The oldest approval, code or token the app still holds.",
    )
    last_used_at: str | None = Field(
        examples=["Fri, 15 July 2022 08:00:00 GMT"],
        description="When its newest token was issued (a code exchange or a refresh); null "
        "when it holds no token. Using a token does not change it.",
    )
    sessions: int = Field(description="Live token families (one per code exchanged).")


class AuthorizedAppList(BaseModel):
    authorized_apps: list[AuthorizedAppItem]


class AuthorizedAppListResponse(BaseModel):
    data: AuthorizedAppList
    pagination: Pagination
    status: str = "success"


PAGE_DESCRIPTION = (
    f"Page number, 5 apps a page, newest activity first. Below 1 means 1; above {MAX_PAGE}, "
    "or not an integer: 400."
)


def authorized_app_json(app: AuthorizedApp) -> dict[str, Any]:
    return {
        "client_id": app.client_id,
        "name": app.name,
        "website": app.website,
        "description": app.description,
        "scope": app.scope,
        "first_authorized_at": long_http_date(app.first_authorized_at),
        "last_used_at": long_http_date(app.last_used_at) if app.last_used_at else None,
        "sessions": app.sessions,
    }
