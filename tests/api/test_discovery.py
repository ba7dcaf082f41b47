"""RFC 8414 discovery: the metadata document, and a standard client configuring itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from app.config import Settings
from app.main import create_app
from app.oauth.scopes import FITTRACKEE_SCOPES

WELL_KNOWN = "/.well-known/oauth-authorization-server"
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def server(settings: Settings) -> AppFactory:
    """An HTTP client on an app built with some settings changed, at a given base URL."""

    @asynccontextmanager
    async def build(
        base_url: str = "https://auth.example.com", **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings.model_copy(update={"access_log": False, **overrides}))
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
                yield http
        finally:
            await app.state.services.db.dispose()

    return build


async def test_metadata_validates_per_rfc8414_and_names_every_endpoint(server: AppFactory):
    async with server(issuer="https://auth.example.com") as http:
        response = await http.get(WELL_KNOWN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=3600"
    data = response.json()
    AuthorizationServerMetadata(data).validate()  # raises on any RFC 8414 §2 violation
    issuer = "https://auth.example.com"
    assert data == {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/profile/apps/authorize",
        "token_endpoint": f"{issuer}/api/oauth/token",
        "revocation_endpoint": f"{issuer}/api/oauth/revoke",
        "introspection_endpoint": f"{issuer}/api/oauth/introspect",
        "scopes_supported": [scope for scope, _ in FITTRACKEE_SCOPES],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "service_documentation": f"{issuer}/docs",
        "authorization_response_iss_parameter_supported": True,
    }


@pytest.mark.parametrize("host", ["localhost:5000", "127.0.0.1:8123", "[::1]:5000", "localhost"])
async def test_without_issuer_a_trusted_host_names_the_issuer(server: AppFactory, host: str):
    async with server(base_url="http://x") as http:
        response = await http.get(WELL_KNOWN, headers={"Host": host})
    data = response.json()
    assert data["issuer"] == f"http://{host}"
    assert data["token_endpoint"] == f"http://{host}/api/oauth/token"
    # a document that follows the Host is kept by no cache
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["vary"] == "Host"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5000", "localhost.evil.example"])
async def test_without_issuer_any_other_host_gets_the_configured_one(server: AppFactory, host):
    """`Host: evil.example` gave `"issuer": "http://evil.example"`, cacheable for an hour."""
    async with server(base_url="http://x") as http:
        response = await http.get(WELL_KNOWN, headers={"Host": host})
    assert response.json()["issuer"] == "http://127.0.0.1:5000"  # HOST:PORT
    assert "evil" not in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_issuer_hosts_lists_the_trusted_hosts(server: AppFactory):
    async with server(base_url="http://x", issuer_hosts="oauth.test:8080, dev.test") as http:
        listed = await http.get(WELL_KNOWN, headers={"Host": "dev.test:9000"})
        exact = await http.get(WELL_KNOWN, headers={"Host": "oauth.test:8080"})
        other = await http.get(WELL_KNOWN, headers={"Host": "oauth.test:9999"})
        loopback = await http.get(WELL_KNOWN, headers={"Host": "localhost:5000"})
    assert listed.json()["issuer"] == "http://dev.test:9000"
    assert exact.json()["issuer"] == "http://oauth.test:8080"
    assert other.json()["issuer"] == "http://oauth.test:8080"
    assert loopback.json()["issuer"] == "http://oauth.test:8080"


async def test_issuer_setting_wins_over_the_host_header(server: AppFactory):
    async with server(issuer="https://oauth.example.org/") as http:
        data = (await http.get(WELL_KNOWN, headers={"Host": "evil.example"})).json()
    assert data["issuer"] == "https://oauth.example.org"
    assert data["authorization_endpoint"] == "https://oauth.example.org/profile/apps/authorize"
    assert data["service_documentation"] == "https://oauth.example.org/docs"
    AuthorizationServerMetadata(data).validate()


async def test_plain_pkce_is_advertised_only_when_allowed(server: AppFactory):
    async with server(oauth2_allow_plain_pkce=True) as http:
        data = (await http.get(WELL_KNOWN)).json()
    assert data["code_challenge_methods_supported"] == ["S256", "plain"]


async def test_issuer_with_a_path_is_served_at_the_rfc8414_path(server: AppFactory):
    async with server(issuer="https://example.com/oauth") as http:
        at_path = await http.get(f"{WELL_KNOWN}/oauth")
        elsewhere = await http.get(f"{WELL_KNOWN}/other")
    assert at_path.status_code == 200
    data = at_path.json()
    assert data["issuer"] == "https://example.com/oauth"
    assert data["token_endpoint"] == "https://example.com/oauth/api/oauth/token"
    AuthorizationServerMetadata(data).validate()
    assert elsewhere.status_code == 404
    assert elsewhere.json() == {"status": "not found", "message": "not found"}


async def test_no_path_suffix_without_an_issuer_path(client):
    response = await client.get(f"{WELL_KNOWN}/anything")
    assert response.status_code == 404
    assert response.json()["status"] == "not found"


@pytest.mark.filterwarnings("ignore:The httpx module is deprecated")
async def test_a_standard_client_configures_itself_from_the_metadata(settings: Settings):
    """Authlib's client loads the document and builds a PKCE authorization URL from it."""
    from authlib.integrations.starlette_client import OAuth

    update = {"access_log": False, "issuer": "https://auth.example.com"}
    app = create_app(settings.model_copy(update=update))
    transport = httpx.ASGITransport(app=app)
    try:
        oauth = OAuth()
        oauth.register(
            "fittrackee",
            client_id="some-client-id",
            client_secret="some-secret",
            server_metadata_url=f"https://auth.example.com{WELL_KNOWN}",
            client_kwargs={
                "transport": transport,
                "scope": "profile:read",
                "code_challenge_method": "S256",
            },
        )
        remote = oauth.create_client("fittrackee")
        metadata = await remote.load_server_metadata()
        authorization = await remote.create_authorization_url(
            redirect_uri="https://client.example/callback"
        )
    finally:
        await app.state.services.db.dispose()
    assert metadata["token_endpoint"] == "https://auth.example.com/api/oauth/token"
    url = httpx.URL(authorization["url"])
    assert str(url.copy_with(query=None)) == "https://auth.example.com/profile/apps/authorize"
    assert url.params["response_type"] == "code"
    assert url.params["client_id"] == "some-client-id"
    assert url.params["code_challenge_method"] == "S256"
    assert len(url.params["code_challenge"]) == 43
    assert url.params["state"] == authorization["state"]


async def test_metadata_is_in_the_openapi_document(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert WELL_KNOWN in paths
    schema_ref = paths[WELL_KNOWN]["get"]["responses"]["200"]["content"]["application/json"]
    assert schema_ref["schema"]["$ref"].endswith("/AuthorizationServerMetadata")
