"""`/api/oauth/apps*`: the logged-in user's OAuth2 clients (FitTrackee's "apps").

First-party only: every route needs the user's own JWT (`first_party_user`); an OAuth2
access token is refused whatever its scope, so a third-party app can neither read nor mint
client credentials. The work is done in `app.clients`; these routes parse and serialize.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends
from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import (
    EXPIRED,
    INVALID,
    NO_TOKEN,
    Principal,
    documented_bearer,
    first_party_principal,
    first_party_user,
    services,
)
from app.api.errors import INVALID_PAYLOAD, ApiError
from app.api.responses import JSON, NO_STORE
from app.api.schemas.apps import (
    PAGE_DESCRIPTION,
    AppListResponse,
    AppResponse,
    CreateAppRequest,
    CreatedAppResponse,
    RevokeResponse,
    client_json,
)
from app.api.schemas.common import error_responses
from app.clients.errors import NOT_FOUND
from app.clients.metadata import (
    INVALID_SCOPES,
    METADATA_MISSING,
    MISSING_KEYS,
    parse_client_metadata,
)
from app.clients.service import (
    client_by_client_id,
    client_by_pk,
    client_pk_from_path,
    delete_client,
    list_clients,
    register_client,
    revoke_client_tokens,
)
from app.clients.uris import HTTP_NOT_LOOPBACK, INVALID_SCHEME

router = APIRouter(prefix="/api/oauth/apps", tags=["apps"])

FirstParty = Annotated[Principal, Depends(first_party_user)]


def _path_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": description,
                "schema": schema,
            }
        ]
    }


# Path parameters are read from `request.path_params` and documented here: `/apps/abc` must be
# a JSON 404 like any unknown app (a typed `id: int` would make it a 400, and a `{id:int}`
# route a 405 from the string `client_id` route), and no lookup here can fail validation.
ID_PARAMETER = _path_parameter("id", "The app's integer `id`.", {"type": "integer", "minimum": 1})
CLIENT_ID_PARAMETER = _path_parameter(
    "client_id", "The app's string `client_id`.", {"type": "string", "maxLength": 48}
)
PAGE_PARAMETER: dict[str, Any] = {
    "parameters": [
        {
            "name": "page",
            "in": "query",
            "required": False,
            "description": PAGE_DESCRIPTION,
            "schema": {
                "type": "integer",
                "default": 1,
                "title": "Page",
                "description": PAGE_DESCRIPTION,
            },
        }
    ]
}
_INTEGER = TypeAdapter(int)


def page_query(value: str | None) -> int | None:
    """The `page` query parameter, read as FastAPI reads an `int` (pydantic's lax mode)."""
    if value is None:
        return None
    try:
        return _INTEGER.validate_python(value)
    except ValidationError:
        raise ApiError(INVALID_PAYLOAD) from None


CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": CreateAppRequest.model_json_schema()}},
    }
}


UNAUTHORIZED = [NO_TOKEN, EXPIRED, INVALID]
NOT_FOUND_RESPONSES = error_responses(401, 404, 503, examples={401: UNAUTHORIZED, 404: [NOT_FOUND]})
LIST_RESPONSES = error_responses(
    400, 401, 503, examples={400: [INVALID_PAYLOAD], 401: UNAUTHORIZED}
)
CREATE_RESPONSES = error_responses(
    400,
    401,
    413,
    503,
    examples={
        401: UNAUTHORIZED,
        400: [
            INVALID_PAYLOAD,
            METADATA_MISSING,
            MISSING_KEYS + "client_uri, redirect_uris, scope",
            INVALID_SCOPES,
            INVALID_SCHEME,
            f"OAuth2 client invalid redirect_uris: {HTTP_NOT_LOOPBACK} (redirect_uris[0])",
        ],
    },
)


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


@router.get(
    "",
    response_model=AppListResponse,
    responses=LIST_RESPONSES,
    openapi_extra={**PAGE_PARAMETER, **documented_bearer()},
    summary="List the user's apps, 5 a page, newest first",
)
async def list_apps(request: Request) -> Response:
    principal = await first_party_principal(request)
    page = page_query(request.query_params.get("page"))
    result = await list_clients(services(request).storage, principal.user_id, page)
    return JSON(
        {
            "data": {"clients": [client_json(row) for row in result.clients]},
            "pagination": result.pagination.as_dict(),
            "status": "success",
        }
    )


@router.post(
    "",
    status_code=201,
    response_model=CreatedAppResponse,
    responses=CREATE_RESPONSES,
    openapi_extra=CREATE_BODY,
    summary="Create an app; its client_secret is shown in this response only",
)
async def create_app(request: Request, principal: FirstParty) -> Response:
    """The body is decoded here rather than by a pydantic parameter so that each refusal
    carries FitTrackee's message (`OAuth2 client metadata missing keys: ...`)."""
    if not _is_json(request):
        raise ApiError(INVALID_PAYLOAD)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ApiError(INVALID_PAYLOAD) from None
    metadata = parse_client_metadata(body, services(request).client_rules)
    created = await register_client(services(request).storage, principal.user_id, metadata)
    client = client_json(created.client, created.client_secret)
    # The only answer that holds the client_secret in clear: never cached.
    return JSON({"data": {"client": client}, "status": "created"}, 201, NO_STORE)


@router.get(
    "/{client_id}",
    response_model=AppResponse,
    responses=NOT_FOUND_RESPONSES,
    openapi_extra=CLIENT_ID_PARAMETER,
    summary="One of the user's apps, by its string client_id (no secret)",
)
async def get_app(request: Request, principal: FirstParty) -> Response:
    client_id = request.path_params["client_id"]
    row = await client_by_client_id(services(request).storage, principal.user_id, client_id)
    return JSON({"data": {"client": client_json(row)}, "status": "success"})


@router.get(
    "/{id}/by_id",
    response_model=AppResponse,
    responses=NOT_FOUND_RESPONSES,
    openapi_extra=ID_PARAMETER,
    summary="One of the user's apps, by its integer id (no secret)",
)
async def get_app_by_id(request: Request, principal: FirstParty) -> Response:
    pk = client_pk_from_path(request.path_params["id"])
    row = await client_by_pk(services(request).storage, principal.user_id, pk)
    return JSON({"data": {"client": client_json(row)}, "status": "success"})


@router.delete(
    "/{id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND_RESPONSES,
    openapi_extra=ID_PARAMETER,
    summary="Delete an app, with every code and token issued to it",
)
async def delete_app(request: Request, principal: FirstParty) -> Response:
    pk = client_pk_from_path(request.path_params["id"])
    await delete_client(services(request).storage, principal.user_id, pk)
    return Response(status_code=204)


@router.post(
    "/{id}/revoke",
    response_model=RevokeResponse,
    responses=NOT_FOUND_RESPONSES,
    openapi_extra=ID_PARAMETER,
    summary="Revoke every token issued to an app",
)
async def revoke_app_tokens(request: Request, principal: FirstParty) -> Response:
    pk = client_pk_from_path(request.path_params["id"])
    await revoke_client_tokens(services(request).storage, principal.user_id, pk)
    return JSON({"status": "success"})
