"""RFC 9207 mix-up defence: every authorization response names the issuer, the same one the
metadata document gives, and a client's Host never becomes it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from tests.api.test_consent_page import PageParts
from tests.helpers import authorize, user_token
from tests.helpers import create_app as create_oauth_app

WELL_KNOWN = "/.well-known/oauth-authorization-server"

Factory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def served(app, settings: Settings) -> Factory:
    @asynccontextmanager
    async def build(host: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        application = create_app(settings.model_copy(update={"access_log": False, **overrides}))
        transport = httpx.ASGITransport(app=application)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://app", headers={"Host": host}
            ) as http:
                yield http
        finally:
            await application.state.services.db.dispose()

    return build


async def responses_iss(http: httpx.AsyncClient) -> tuple[str, list[str], list[str]]:
    """(the metadata's issuer, `iss` of an approval's redirect, `iss` of the denial URL)."""
    token = await user_token(http, "alice")
    oauth_app = await create_oauth_app(http, token)
    issuer = (await http.get(WELL_KNOWN)).json()["issuer"]
    approved = await authorize(http, token, oauth_app)
    assert approved.status_code == 200, approved.text
    approval = parse_qs(urlsplit(approved.json()["redirect_url"]).query)
    page = await http.get(
        "/profile/apps/authorize",
        params={"client_id": oauth_app["client_id"], "response_type": "code"},
    )
    denial = parse_qs(urlsplit(PageParts(page.text).link_with_id("deny-link")).query)
    return issuer, approval["iss"], denial["iss"]


@pytest.mark.parametrize(
    ("host", "overrides", "expected"),
    [
        (
            "oauth.example.com",
            {"issuer": "https://oauth.example.com/"},
            "https://oauth.example.com",
        ),
        ("evil.example", {"issuer": "https://oauth.example.com"}, "https://oauth.example.com"),
        ("localhost:5000", {}, "http://localhost:5000"),
        ("evil.example", {}, "http://127.0.0.1:5000"),
    ],
    ids=["issuer", "issuer, other host", "trusted host", "untrusted host"],
)
async def test_every_authorization_response_names_the_metadata_issuer(
    served: Factory, host: str, overrides: dict[str, Any], expected: str
):
    async with served(host, **overrides) as http:
        issuer, approval, denial = await responses_iss(http)
    assert issuer == expected
    assert approval == [expected]
    assert denial == [expected]


async def test_the_metadata_says_iss_is_sent(client: httpx.AsyncClient):
    data = (await client.get(WELL_KNOWN)).json()
    assert data["authorization_response_iss_parameter_supported"] is True
