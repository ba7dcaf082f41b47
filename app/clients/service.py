"""What the `/api/oauth/apps` routers call. Every lookup is scoped to the calling user, so
another user's app is "not found" and nothing of it can be read or changed."""

from __future__ import annotations

from dataclasses import dataclass

from app import clock
from app.clients.credentials import new_client_credentials
from app.clients.details import ClientDetails
from app.clients.errors import ClientNotFound
from app.clients.metadata import ClientMetadata
from app.clients.pagination import PER_PAGE, Pagination, page_number
from app.db.storage import Storage
from app.oauth.clients import plausible_client_id
from app.observability.metrics import record_tokens_revoked

MAX_CLIENT_PK = 2**31 - 1  # the `id` column is a 32-bit INTEGER


@dataclass(frozen=True, slots=True)
class NewClient:
    """A just-registered client and its secret in clear, which exists only in this response."""

    client: ClientDetails
    client_secret: str


@dataclass(frozen=True, slots=True)
class ClientPage:
    clients: list[ClientDetails]
    pagination: Pagination


def client_pk_from_path(value: str) -> int:
    """The integer `id` from a URL segment; anything else names no client (404, not 400 or
    a database overflow error)."""
    if not (value.isascii() and value.isdigit() and len(value) <= 10):
        raise ClientNotFound
    pk = int(value)
    if not 1 <= pk <= MAX_CLIENT_PK:
        raise ClientNotFound
    return pk


async def register_client(storage: Storage, user_id: int, metadata: ClientMetadata) -> NewClient:
    """Store a new client for `user_id` (RFC 6749 §2): random credentials, secret hashed."""
    credentials = new_client_credentials()
    client = await storage.clients.create(
        user_id=user_id,
        client_id=credentials.client_id,
        client_secret_hash=credentials.client_secret_hash,
        name=metadata.name,
        website=metadata.website,
        description=metadata.description,
        redirect_uris=list(metadata.redirect_uris),
        scope=metadata.scope,
        now=clock.utcnow(),
    )
    return NewClient(client=client, client_secret=credentials.client_secret)


async def list_clients(storage: Storage, user_id: int, page: int | None) -> ClientPage:
    """One page of the user's clients, newest first: a single query (the total rides along)."""
    number = page_number(page)
    clients, total = await storage.clients.page_for_user(
        user_id=user_id, page=number, per_page=PER_PAGE
    )
    return ClientPage(clients=list(clients), pagination=Pagination(number, PER_PAGE, total))


async def client_by_client_id(storage: Storage, user_id: int, client_id: str) -> ClientDetails:
    if not plausible_client_id(client_id):
        raise ClientNotFound
    client = await storage.clients.owned_by_client_id(user_id=user_id, client_id=client_id)
    if client is None:
        raise ClientNotFound
    return client


async def client_by_pk(storage: Storage, user_id: int, pk: int) -> ClientDetails:
    client = await storage.clients.owned_by_id(user_id=user_id, pk=pk)
    if client is None:
        raise ClientNotFound
    return client


async def delete_client(storage: Storage, user_id: int, pk: int) -> None:
    """Delete the client with every code and token issued to it, all or nothing: the rows go
    by ON DELETE CASCADE in the same statement, so no token outlives its client."""
    if not await storage.clients.delete_owned(user_id=user_id, pk=pk):
        raise ClientNotFound


async def revoke_client_tokens(storage: Storage, user_id: int, pk: int) -> int:
    """Revoke every token issued to the user's client (RFC 7009 §2.1: access and refresh
    tokens together), and spend its unused authorization codes, which would otherwise still
    buy new tokens; the ownership check and both updates are one unit of work."""
    revoked = await storage.clients.revoke_tokens(user_id=user_id, pk=pk, now=clock.utcnow())
    if revoked is None:
        raise ClientNotFound
    record_tokens_revoked("client_revoke", revoked)
    return revoked
