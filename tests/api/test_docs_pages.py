"""`/docs` and `/redoc`: served from this server, no inline script, a strict CSP, integrity
digests that match the assets; `DOCS_ENABLED=false` turns them off."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from app.config import Settings
from app.main import create_app

ASSET = re.compile(r'(?:src|href)="(/static/docs/[^"]+)"(?: integrity="([^"]+)")?')


def sri(content: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_page_loads_only_this_servers_assets_each_with_its_digest(client, path):
    page = await client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "https://" not in page.text and "http://" not in page.text  # no CDN
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) == []  # no inline script
    assets = ASSET.findall(page.text)
    assert assets
    for url, integrity in assets:
        served = await client.get(url)
        assert served.status_code == 200, url
        assert served.headers["x-content-type-options"] == "nosniff"
        if integrity:
            assert integrity == sri(served.content), url
    scripts = [url for url, integrity in assets if url.endswith(".js")]
    assert all(integrity for url, integrity in assets if url.endswith((".js", ".css")))
    assert scripts


async def test_the_pages_policies_allow_no_script_but_this_origins(client):
    for path in ("/docs", "/redoc"):
        headers = (await client.get(path)).headers
        policy = dict(
            part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";")
        )
        assert policy["default-src"] == "'none'"
        assert policy["script-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert policy["connect-src"] == "'self'"
        assert headers["x-frame-options"] == "DENY"
    swagger = (await client.get("/docs")).headers["content-security-policy"]
    assert "unsafe-inline" not in swagger


async def test_swagger_is_started_by_a_served_script_naming_the_document(client):
    page = (await client.get("/docs")).text
    assert 'data-openapi-url="/openapi.json"' in page
    init = await client.get("/static/docs/swagger-init.js")
    assert init.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle(" in init.text and "validatorUrl: null" in init.text


async def test_unknown_asset_names_are_the_apis_json_404(client):
    for name in ("nope.js", "..%2F..%2Fconfig.py", "swagger-ui.css.map"):
        response = await client.get(f"/static/docs/{name}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"


async def test_docs_can_be_turned_off_and_the_document_stays(settings: Settings):
    application = create_app(settings.model_copy(update={"docs_enabled": False}))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for path in ("/docs", "/redoc", "/static/docs/swagger-ui-bundle.js"):
            assert (await http.get(path)).status_code == 404, path
        assert (await http.get("/openapi.json")).status_code == 200
        metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    await application.state.services.db.dispose()
    assert "service_documentation" not in metadata


async def test_a_path_prefix_from_the_proxy_is_honoured(settings: Settings):
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application, root_path="/oauth")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        page = (await http.get("/docs")).text
    await application.state.services.db.dispose()
    assert 'data-openapi-url="/oauth/openapi.json"' in page
    assert 'src="/oauth/static/docs/swagger-ui-bundle.js"' in page
