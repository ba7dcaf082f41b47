"""`/api/oauth/authorized_apps*`: the apps the logged-in user let in, and taking one's access
back. First-party only, like the app routes (`first_party_user`): a third-party app can
neither see which other apps the user approved nor revoke them. The work is done in
`app.clients.authorized`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import documented_bearer, first_party_principal, services
from app.api.responses import JSON
from app.api.routes.apps import (
    CLIENT_ID_PARAMETER,
    LIST_RESPONSES,
    NOT_FOUND_RESPONSES,
    FirstParty,
    page_query,
)
from app.api.schemas.authorized_apps import (
    PAGE_DESCRIPTION,
    AuthorizedAppListResponse,
    authorized_app_json,
)
from app.clients.authorized import list_authorized_apps, revoke_authorized_app

router = APIRouter(prefix="/api/oauth/authorized_apps", tags=["apps"])

PAGE_PARAMETER: dict[str, Any] = {
    "parameters": [
        {
            "name": "page",
            "in": "query",
            "required": False,
            "description": PAGE_DESCRIPTION,
            "schema": {"type": "integer", "default": 1, "title": "Page"},
        }
    ]
}


@router.get(
    "",
    response_model=AuthorizedAppListResponse,
    responses=LIST_RESPONSES,
    openapi_extra={**PAGE_PARAMETER, **documented_bearer()},
    summary="The apps the user let in, 5 a page, newest activity first",
)
async def list_authorized(request: Request) -> Response:
    """Every app holding a live token or an unused code of the user's, or a consent
    remembered on the consent page: what it holds, since when, when its tokens were last
    issued or refreshed, and how many live sessions (token families) it has."""
    principal = await first_party_principal(request)
    page = page_query(request.query_params.get("page"))
    result = await list_authorized_apps(services(request).storage, principal.user_id, page)
    return JSON(
        {
            "data": {"authorized_apps": [authorized_app_json(app) for app in result.apps]},
            "pagination": result.pagination.as_dict(),
            "status": "success",
        }
    )


@router.delete(
    "/{client_id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND_RESPONSES,
    openapi_extra=CLIENT_ID_PARAMETER,
    summary="Take an app's access back: its tokens, unused codes and remembered consent",
)
async def revoke_authorized(request: Request, principal: FirstParty) -> Response:
    """One transaction: every live token the user's grants to the app hold is revoked, its
    unused codes are spent, and the remembered consent is forgotten (the consent page asks
    again next time). The app and other users' grants are untouched. 404 `OAuth2 client not
    found` for an unknown app or one that holds nothing of the user's."""
    client_id = request.path_params["client_id"]
    await revoke_authorized_app(services(request).storage, principal.user_id, client_id)
    return Response(status_code=204)
