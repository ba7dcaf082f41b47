"""The OpenAPI document: every endpoint grouped by tag, with its request schema, its success
schema and its error shapes; 400 where FastAPI would document 422."""

from __future__ import annotations

from typing import Any

import pytest

ACCOUNT_ENDPOINTS = {
    ("post", "/api/auth/register"): ("RegisterRequest", "200", "StatusOnly", {"400", "413", "503"}),
    ("post", "/api/auth/login"): ("LoginRequest", "200", "LoginResponse", {"400", "401", "503"}),
    ("post", "/api/auth/logout"): (None, "200", "LogoutResponse", {"401", "503"}),
    ("get", "/api/auth/profile"): (None, "200", "ProfileResponse", {"401", "403", "503"}),
    ("post", "/api/auth/profile/edit"): (
        "ProfileEditRequest",
        "200",
        "ProfileEditResponse",
        {"400", "401", "403", "503"},
    ),
    ("get", "/health"): (None, "200", "Health", {"503"}),
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


@pytest.fixture
async def document(client) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


def ref_name(content: dict[str, Any]) -> str:
    return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


def operations(document: dict[str, Any]):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


async def test_docs_page_is_served(client):
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
    assert "/openapi.json" in response.text


@pytest.mark.parametrize(("method", "path"), list(ACCOUNT_ENDPOINTS))
async def test_account_endpoints_document_request_success_and_errors(document, method, path):
    request_model, success, success_model, errors = ACCOUNT_ENDPOINTS[(method, path)]
    operation = document["paths"][path][method]
    assert operation["tags"] == ["operations" if path == "/health" else "accounts"]
    assert operation["summary"]

    if request_model:
        assert operation["requestBody"]["required"] is True
        assert ref_name(operation["requestBody"]["content"]) == request_model
        assert request_model in document["components"]["schemas"]
    else:
        assert "requestBody" not in operation

    responses = operation["responses"]
    assert ref_name(responses[success]["content"]) == success_model
    assert errors <= set(responses)
    for code in set(responses) - {success}:
        entry = responses[code]
        assert ref_name(entry["content"]) in {"ErrorMessage", "OAuthErrorBody"}, code
        examples = entry["content"]["application/json"]["examples"]
        assert examples, code
        for example in examples.values():
            body = example["value"]
            assert set(body) in ({"status", "message"}, {"error", "error_description"}), code


async def test_documented_401_messages_are_the_real_ones(document):
    logout_401 = document["paths"]["/api/auth/logout"]["post"]["responses"]["401"]
    messages = {
        example["value"]["message"]
        for example in logout_401["content"]["application/json"]["examples"].values()
    }
    assert messages == {
        "provide a valid auth token",
        "signature expired, please log in again",
        "invalid token, please log in again",
    }
    assert "WWW-Authenticate" in logout_401["headers"]
    login_401 = document["paths"]["/api/auth/login"]["post"]["responses"]["401"]
    values = [e["value"] for e in login_401["content"]["application/json"]["examples"].values()]
    assert values == [{"status": "error", "message": "invalid credentials"}]


async def test_bearer_security_is_documented_with_scopes(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    paths = document["paths"]
    assert paths["/api/auth/logout"]["post"]["security"] == [{"bearerAuth": []}]
    # A scoped endpoint also takes an app's token from the `oauth2` scheme's code flow.
    assert paths["/api/auth/profile"]["get"]["security"] == [
        {"bearerAuth": ["profile:read"]},
        {"oauth2": ["profile:read"]},
    ]
    edit = paths["/api/auth/profile/edit"]["post"]
    assert edit["security"] == [{"bearerAuth": ["profile:write"]}, {"oauth2": ["profile:write"]}]
    assert schemes["oauth2"]["type"] == "oauth2"
    assert set(schemes["oauth2"]["flows"]) == {"authorizationCode"}
    for method, path in [("post", "/api/auth/register"), ("post", "/api/auth/login")]:
        assert "security" not in paths[path][method]


async def test_no_endpoint_documents_422_and_every_one_has_a_tag(document):
    """The app answers 400 `invalid payload` where FastAPI would say 422 (FitTrackee does)."""
    known_tags = {tag["name"] for tag in document["tags"]}
    assert {"accounts", "operations"} <= known_tags
    for method, path, operation in operations(document):
        assert "422" not in operation["responses"], (method, path)
        assert operation.get("tags"), (method, path)
        assert set(operation["tags"]) <= known_tags, (method, path)
        if "requestBody" in operation:
            assert "400" in operation["responses"], (method, path)
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas


async def test_register_schema_states_the_rules(document):
    schema = document["components"]["schemas"]["RegisterRequest"]
    assert set(schema["required"]) == {"username", "email", "password", "accepted_policy"}
    assert schema["properties"]["accepted_policy"]["type"] == "boolean"
    assert schema["examples"][0]["accepted_policy"] is True


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/api/auth/login", {"status", "message"}),
        ("/api/auth/register", {"status", "message"}),
        ("/api/oauth/token", {"error", "error_description"}),
        ("/api/oauth/revoke", {"error", "error_description"}),
        ("/api/oauth/introspect", {"error", "error_description"}),
    ],
)
async def test_every_rate_limited_endpoint_documents_its_429(document, path, shape):
    entry = document["paths"][path]["post"]["responses"]["429"]
    assert "Retry-After" in entry["headers"]
    content = entry["content"]["application/json"]
    examples = [e["value"] for e in content.get("examples", {}).values()]
    examples += [content["example"]] if "example" in content else []
    assert examples and all(set(example) == shape for example in examples)


CLIENT_AUTHENTICATED = ["/api/oauth/token", "/api/oauth/revoke", "/api/oauth/introspect"]


async def test_client_basic_authentication_is_a_security_scheme(document):
    """Usable from Swagger UI's Authorize: HTTP Basic, or the credentials in the form."""
    scheme = document["components"]["securitySchemes"]["clientBasic"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "basic")
    for path in CLIENT_AUTHENTICATED:
        assert document["paths"][path]["post"]["security"] == [{"clientBasic": []}, {}], path


async def test_the_consent_page_is_documented_as_html(document):
    operation = document["paths"]["/profile/apps/authorize"]["get"]
    assert operation["tags"] == ["oauth2"]
    assert set(operation["responses"]["200"]["content"]) == {"text/html"}
    assert set(operation["responses"]["400"]["content"]) == {"text/html"}
    parameters = {p["name"]: p["required"] for p in operation["parameters"]}
    assert parameters["client_id"] is parameters["response_type"] is True
    assert {"scope", "state", "redirect_uri", "code_challenge", "code_challenge_method"} <= set(
        parameters
    )
    assert "/static/consent/{name}" not in document["paths"]


async def test_rate_limited_endpoints_document_429_with_retry_after(document):
    for path in ["/api/auth/login", "/api/auth/register", *CLIENT_AUTHENTICATED]:
        entry = document["paths"][path]["post"]["responses"]["429"]
        assert "Retry-After" in entry["headers"], path


def test_the_status_check_reports_an_undocumented_status():
    """The session-wide check (`tests/documented_statuses.py`) catches a missing entry, such
    as a 429 an endpoint answers but the document does not list."""
    from tests.documented_statuses import undocumented

    openapi = {
        "paths": {
            "/api/oauth/token": {"post": {"responses": {"200": {}, "400": {}}}},
            "/x/{name}": {"get": {"responses": {"default": {}}}},
        }
    }
    seen = {
        ("post", "/api/oauth/token", "200"),
        ("post", "/api/oauth/token", "429"),
        ("get", "/api/oauth/token", "405"),  # not an operation: not checked here
        ("get", "/x/{name:path}", "418"),  # a default covers it
        ("get", "<unmatched>", "404"),
    }
    assert undocumented(seen, openapi) == ["POST /api/oauth/token answered 429"]


async def test_the_authorized_apps_endpoints_are_documented(document):
    listing = document["paths"]["/api/oauth/authorized_apps"]["get"]
    assert listing["tags"] == ["apps"]
    assert listing["security"] == [{"bearerAuth": []}]
    assert ref_name(listing["responses"]["200"]["content"]) == "AuthorizedAppListResponse"
    assert {"200", "400", "401", "503"} == set(listing["responses"])
    assert [p["name"] for p in listing["parameters"]] == ["page"]
    item = document["components"]["schemas"]["AuthorizedAppItem"]
    assert set(item["required"]) == {
        "client_id",
        "name",
        "website",
        "description",
        "scope",
        "first_authorized_at",
        "last_used_at",
        "sessions",
    }
    removal = document["paths"]["/api/oauth/authorized_apps/{client_id}"]["delete"]
    assert set(removal["responses"]) == {"204", "401", "404", "503"}
    not_found = removal["responses"]["404"]["content"]["application/json"]["examples"]
    assert [e["value"] for e in not_found.values()] == [
        {"status": "not found", "message": "OAuth2 client not found"}
    ]


async def test_the_consent_page_documents_prompt_and_its_redirect(document):
    operation = document["paths"]["/profile/apps/authorize"]["get"]
    assert "prompt" in {p["name"] for p in operation["parameters"]}
    assert "Location" in operation["responses"]["303"]["headers"]
    # The pages are for browsers: none of them but the consent page is an API operation.
    for path in ("/login", "/logout", "/register", "/profile/apps", "/profile/apps/connected"):
        assert path not in document["paths"]
    assert "post" not in document["paths"]["/profile/apps/authorize"]
