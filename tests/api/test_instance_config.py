"""`GET /api/config` (issue 11): FitTrackee 1.3's configuration document with what is true of
this server, `version` for clients' checks; and `REGISTRATION_ENABLED` behind
`is_registration_enabled`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from packaging.version import Version
from sqlalchemy import func, select

from app import __version__
from app.cli import create_user
from app.config import Settings
from app.db.models import User
from tests.helpers import PASSWORD

# FitTrackee 1.3's `data` members (its "Configuration" API), in its order.
FITTRACKEE_13_FIELDS = [
    "about",
    "admin_contact",
    "elevation_services",
    "file_limit_import",
    "file_sync_limit_import",
    "is_email_sending_enabled",
    "is_registration_enabled",
    "global_map_workouts_limit",
    "max_image_size",
    "max_single_file_size",
    "max_zip_file_size",
    "max_users",
    "map_attribution",
    "privacy_policy",
    "privacy_policy_date",
    "stats_workouts_limit",
    "version",
    "weather_provider",
]
REGISTRATION = {
    "username": "carol",
    "email": "carol@example.com",
    "password": PASSWORD,
    "accepted_policy": True,
}
CLOSED = {"status": "error", "message": "error, registration is disabled"}


async def users(app) -> int:
    async with app.state.services.db.engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(User))


async def test_the_default_document_needs_no_authentication(client):
    response = await client.get("/api/config")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": "success",
        "data": {
            "about": None,
            "admin_contact": None,
            "elevation_services": {"open_elevation": False, "valhalla": False},
            "file_limit_import": 10,
            "file_sync_limit_import": 10,
            "global_map_workouts_limit": 10000,
            "is_email_sending_enabled": False,
            "is_registration_enabled": True,
            "map_attribution": "",
            "max_image_size": 5242880,
            "max_single_file_size": 1048576,
            "max_users": 0,
            "max_zip_file_size": 10485760,
            "privacy_policy": None,
            "privacy_policy_date": None,
            "stats_workouts_limit": 10000,
            "version": "1.3.6",
            "weather_provider": None,
            "server": {"name": "fittrackee-oauth2-server", "version": __version__},
        },
    }


async def test_it_has_every_field_of_fittrackee_13_and_the_servers_identity(client):
    data = (await client.get("/api/config")).json()["data"]
    assert set(data) == {*FITTRACKEE_13_FIELDS, "server"}


async def test_the_version_passes_a_1x_clients_instance_check(client, server_with):
    """garmin-to-fittrackee 0.12.0 requires `data.version` >= 0.7.29; an operator matching
    FitTrackee 0.7.17 reports 0.7.17, which such a client rightly refuses."""
    data = (await client.get("/api/config")).json()["data"]
    assert Version(data["version"]) >= Version("0.7.29")
    async with server_with(fittrackee_api_version="0.7.17") as http:
        old = (await http.get("/api/config")).json()["data"]
    assert old["version"] == "0.7.17"
    assert Version(old["version"]) < Version("0.7.29")
    assert old["server"] == data["server"]


@pytest.mark.parametrize(
    ("given", "written"),
    [
        (datetime(2026, 3, 1, 9, 30), "Sun, 01 Mar 2026 09:30:00 GMT"),
        (
            datetime(2026, 3, 1, 11, 30, tzinfo=timezone(timedelta(hours=2))),
            "Sun, 01 Mar 2026 09:30:00 GMT",
        ),
    ],
    ids=["naive-is-utc", "offset"],
)
async def test_the_instances_texts_come_from_the_settings(server_with, given, written):
    """Dates as an operator writes them (ISO 8601, UTC without an offset), as FitTrackee
    writes them."""
    policy_date = Settings(privacy_policy_date=given.isoformat()).privacy_policy_date
    texts = {
        "about": "A **small** instance.",
        "privacy_policy": "We keep nothing.",
        "admin_contact": "admin@example.com",
    }
    async with server_with(privacy_policy_date=policy_date, **texts) as http:
        data = (await http.get("/api/config")).json()["data"]
    assert {key: data[key] for key in texts} == texts
    assert data["privacy_policy_date"] == written


async def test_a_policy_date_without_a_policy_is_null(server_with):
    async with server_with(privacy_policy_date=datetime(2026, 1, 1, tzinfo=UTC)) as http:
        data = (await http.get("/api/config")).json()["data"]
    assert data["privacy_policy"] is None
    assert data["privacy_policy_date"] is None


async def test_cors_works_for_it_like_for_the_rest(server_with):
    origin = "https://web.example"
    async with server_with(cors_origins=origin) as http:
        simple = await http.get("/api/config", headers={"Origin": origin})
        preflight = await http.options(
            "/api/config",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )
        stranger = await http.get("/api/config", headers={"Origin": "https://evil.example"})
    assert simple.status_code == 200
    assert simple.headers["access-control-allow-origin"] == origin
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in stranger.headers


async def test_it_is_in_the_openapi_document_with_its_model(client):
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/config"]["get"]
    assert "security" not in operation
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/InstanceConfigResponse")
    model = document["components"]["schemas"]["InstanceConfig"]
    assert set(model["properties"]) == {*FITTRACKEE_13_FIELDS, "server"}
    assert "compatibility value" in model["properties"]["version"]["description"]


# --- REGISTRATION_ENABLED ---------------------------------------------------------------------


async def test_closed_registration_is_fittrackees_403_and_creates_nothing(app, server_with):
    async with server_with(registration_enabled=False) as http:
        config = (await http.get("/api/config")).json()["data"]
        refused = await http.post("/api/auth/register", json=REGISTRATION)
        garbled = await http.post("/api/auth/register", content=b"{not json")
        # Logging in still works for the accounts that exist.
        login = await http.post(
            "/api/auth/login", json={"email": "carol@example.com", "password": PASSWORD}
        )
    assert config["is_registration_enabled"] is False
    assert refused.status_code == 403
    assert refused.json() == CLOSED
    assert garbled.status_code == 403  # checked before the body, as FitTrackee does
    assert garbled.json() == CLOSED
    assert login.status_code == 401
    assert await users(app) == 0


async def test_the_operator_still_creates_accounts_when_registration_is_closed(app, settings):
    closed = settings.model_copy(update={"registration_enabled": False, "access_log": False})
    user_id = await create_user(closed, "dave", "dave@example.com", PASSWORD)
    assert user_id > 0
    assert await users(app) == 1


async def test_registration_is_open_by_default(client, app):
    response = await client.post("/api/auth/register", json=REGISTRATION)
    assert response.status_code == 200
    assert await users(app) == 1


async def test_the_closed_answer_is_documented(client):
    document = (await client.get("/openapi.json")).json()
    refused = document["paths"]["/api/auth/register"]["post"]["responses"]["403"]
    examples = refused["content"]["application/json"]["examples"]
    assert [example["value"] for example in examples.values()] == [CLOSED]
