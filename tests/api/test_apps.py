"""`/api/oauth/apps*` over HTTP: create, list, read, delete, revoke-all; ownership and the
first-party rule, with the database checked directly where the answer alone proves little."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock
from app.api.formats import long_http_date
from app.db.models import AuthorizationCode, OAuth2Client, Token, User
from app.oauth.scopes import FITTRACKEE_SCOPES
from app.oauth.secrets import hash_secret, random_alphanumeric
from tests.helpers import (
    app_payload,
    authorize,
    bearer,
    code_from,
    create_app,
    exchange_code,
    user_token,
)

NOT_FOUND = {"message": "OAuth2 client not found", "status": "not found"}
CLIENT_KEYS = {
    "client_description",
    "client_id",
    "id",
    "issued_at",
    "name",
    "redirect_uris",
    "scope",
    "website",
}
ISSUED_AT = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (January|February|March|April|May|June|July|"
    r"August|September|October|November|December) \d{4} \d{2}:\d{2}:\d{2} GMT$"
)
ALL_SCOPES = " ".join(scope for scope, _ in FITTRACKEE_SCOPES)


# --- database set-up and inspection (tests may build SQL; the app may not) -------------------


def engine(app: Any) -> AsyncEngine:
    return app.state.services.db.engine


async def user_pk(app: Any, username: str) -> int:
    async with engine(app).connect() as conn:
        return await conn.scalar(select(User.id).where(User.username == username))


async def add_code(app: Any, client_pk: int, user_id: int) -> int:
    now = clock.utcnow()
    async with engine(app).begin() as conn:
        return await conn.scalar(
            insert(AuthorizationCode)
            .values(
                code_hash=hash_secret(random_alphanumeric(48)),
                client_id=client_pk,
                user_id=user_id,
                scope="profile:read",
                redirect_uri=None,
                created_at=now,
                expires_at=now + timedelta(seconds=300),
            )
            .returning(AuthorizationCode.id)
        )


async def add_token(
    app: Any,
    client_pk: int,
    user_id: int,
    *,
    scope: str = "profile:read",
) -> tuple[int, str]:
    """A live token row; returns its id and the access token in clear."""
    access_token = random_alphanumeric(42)
    now = clock.utcnow()
    async with engine(app).begin() as conn:
        token_pk = await conn.scalar(
            insert(Token)
            .values(
                access_token_hash=hash_secret(access_token),
                refresh_token_hash=hash_secret(random_alphanumeric(48)),
                client_id=client_pk,
                user_id=user_id,
                family_id=secrets.token_hex(16),
                scope=scope,
                issued_at=now,
                access_expires_at=now + timedelta(seconds=864000),
                refresh_expires_at=now + timedelta(seconds=2 * 864000),
            )
            .returning(Token.id)
        )
    return token_pk, access_token


async def rows(app: Any, table: Any, **where: Any) -> list[dict[str, Any]]:
    query = select(table).where(*(getattr(table, k) == v for k, v in where.items()))
    async with engine(app).connect() as conn:
        result = await conn.execute(query.order_by(table.id))
        return [dict(row) for row in result.mappings()]


async def count(app: Any, table: Any, **where: Any) -> int:
    query = select(func.count()).select_from(table)
    query = query.where(*(getattr(table, k) == v for k, v in where.items()))
    async with engine(app).connect() as conn:
        return await conn.scalar(query)


async def snapshot(app: Any, client_pk: int) -> dict[str, Any]:
    """Everything stored about one client: its row, codes and tokens."""
    return {
        "client": await rows(app, OAuth2Client, id=client_pk),
        "codes": await rows(app, AuthorizationCode, client_id=client_pk),
        "tokens": await rows(app, Token, client_id=client_pk),
    }


def without_secret(client: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in client.items() if k != "client_secret"}


# --- create ----------------------------------------------------------------------------------


async def test_create_answers_201_with_credentials_and_fittrackee_shape(client, app):
    token = await user_token(client)
    response = await client.post("/api/oauth/apps", json=app_payload(), headers=bearer(token))

    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "created"
    created = body["data"]["client"]
    assert list(created) == sorted(CLIENT_KEYS | {"client_secret"})
    assert re.fullmatch(r"[A-Za-z0-9]{24}", created["client_id"])
    assert re.fullmatch(r"[A-Za-z0-9]{48}", created["client_secret"])
    assert created["name"] == "Cap App"
    assert created["website"] == "https://example.com"
    assert created["client_description"] == "desc"
    assert created["redirect_uris"] == ["https://example.com/cb", "https://example.com/cb2"]
    assert created["scope"] == "profile:read workouts:read"
    assert ISSUED_AT.match(created["issued_at"])

    [stored] = await rows(app, OAuth2Client, id=created["id"])
    assert stored["client_id"] == created["client_id"]
    assert stored["user_id"] == await user_pk(app, "alice")
    assert created["issued_at"] == long_http_date(stored["issued_at"])
    assert abs(stored["issued_at"] - clock.utcnow()) < timedelta(seconds=60)


async def test_create_stores_the_secret_only_as_its_hash(client, app):
    token = await user_token(client)
    created = await create_app(client, token)
    [stored] = await rows(app, OAuth2Client, id=created["id"])
    assert stored["client_secret_hash"] == hash_secret(created["client_secret"])
    assert all(created["client_secret"] not in str(value) for value in stored.values())


async def test_each_app_gets_its_own_credentials(client):
    token = await user_token(client)
    first = await create_app(client, token)
    second = await create_app(client, token)
    assert first["client_id"] != second["client_id"]
    assert first["client_secret"] != second["client_secret"]
    assert second["id"] > first["id"]


async def test_create_without_description_gives_null_like_fittrackee(client):
    token = await user_token(client)
    payload = app_payload()
    del payload["client_description"]
    response = await client.post("/api/oauth/apps", json=payload, headers=bearer(token))
    assert response.status_code == 201
    assert response.json()["data"]["client"]["client_description"] is None


async def test_create_drops_unknown_scopes_and_stores_scope_canonically(client, app):
    token = await user_token(client)
    created = await create_app(
        client, token, scope="workouts:write admin:all profile:read workouts:write"
    )
    assert created["scope"] == "profile:read workouts:write"
    [stored] = await rows(app, OAuth2Client, id=created["id"])
    assert stored["scope"] == "profile:read workouts:write"


# --- read ------------------------------------------------------------------------------------


async def test_get_by_client_id_and_by_id_return_the_app_without_secret(client):
    token = await user_token(client)
    created = await create_app(client, token)
    expected = {"data": {"client": without_secret(created)}, "status": "success"}

    by_client_id = await client.get(
        f"/api/oauth/apps/{created['client_id']}", headers=bearer(token)
    )
    assert by_client_id.status_code == 200
    assert by_client_id.json() == expected
    by_id = await client.get(f"/api/oauth/apps/{created['id']}/by_id", headers=bearer(token))
    assert by_id.status_code == 200
    assert by_id.json() == expected
    assert "client_secret" not in by_id.text


@pytest.mark.parametrize(
    "client_id", ["doesnotexist", "x" * 49, "a%20b", "%00", "%C3%A9t%C3%A9", "a.b"]
)
async def test_get_unknown_client_id_is_json_404(client, client_id):
    token = await user_token(client)
    await create_app(client, token)
    response = await client.get(f"/api/oauth/apps/{client_id}", headers=bearer(token))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_get_by_client_id_does_not_look_up_integer_ids(client):
    """FitTrackee's `<string:client_id>` route: `/apps/1` is client_id "1", not id 1."""
    token = await user_token(client)
    created = await create_app(client, token)
    response = await client.get(f"/api/oauth/apps/{created['id']}", headers=bearer(token))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    "raw_id", ["999999", "abc", "0", "-1", "+1", "1.0", "99999999999", "2147483648", "%D9%A1"]
)
async def test_by_id_unknown_or_not_an_integer_is_json_404(client, raw_id):
    token = await user_token(client)
    await create_app(client, token)
    response = await client.get(f"/api/oauth/apps/{raw_id}/by_id", headers=bearer(token))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# --- list ------------------------------------------------------------------------------------


async def seven_apps(client) -> tuple[str, list[dict[str, Any]]]:
    token = await user_token(client)
    created = [await create_app(client, token, client_name=f"b{i}") for i in range(7)]
    return token, created


def pagination(**values: Any) -> dict[str, Any]:
    return dict(sorted(values.items()))


async def test_list_pages_newest_first_five_a_page(client):
    token, created = await seven_apps(client)

    first = await client.get("/api/oauth/apps", headers=bearer(token))
    assert first.status_code == 200
    body = first.json()
    assert list(body) == ["data", "pagination", "status"]
    assert body["status"] == "success"
    assert [c["name"] for c in body["data"]["clients"]] == ["b6", "b5", "b4", "b3", "b2"]
    assert body["data"]["clients"][0] == without_secret(created[6])
    assert all(set(c) == CLIENT_KEYS for c in body["data"]["clients"])
    assert body["pagination"] == pagination(has_next=True, has_prev=False, page=1, pages=2, total=7)
    assert list(body["pagination"]) == ["has_next", "has_prev", "page", "pages", "total"]

    second = (await client.get("/api/oauth/apps?page=2", headers=bearer(token))).json()
    assert [c["name"] for c in second["data"]["clients"]] == ["b1", "b0"]
    assert second["pagination"] == pagination(
        has_next=False, has_prev=True, page=2, pages=2, total=7
    )


@pytest.mark.parametrize("page", ["3", "1000", str(2**31 - 1)])
async def test_list_past_the_end_is_empty_with_the_page_echoed(client, page):
    token, _ = await seven_apps(client)
    response = await client.get(f"/api/oauth/apps?page={page}", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {
        "data": {"clients": []},
        "pagination": pagination(has_next=False, has_prev=True, page=int(page), pages=2, total=7),
        "status": "success",
    }


@pytest.mark.parametrize("query", ["?page=1", "?page=0", "?page=-1", "?page=-99999999999999999999"])
async def test_list_page_below_one_means_page_one(client, query):
    token, _ = await seven_apps(client)
    body = (await client.get(f"/api/oauth/apps{query}", headers=bearer(token))).json()
    assert [c["name"] for c in body["data"]["clients"]] == ["b6", "b5", "b4", "b3", "b2"]
    assert body["pagination"]["page"] == 1
    assert body["pagination"]["has_prev"] is False


@pytest.mark.parametrize("page", ["abc", "1.5", "", "1e3", str(2**31), "9" * 30, "9" * 5000, "%00"])
async def test_list_page_not_an_integer_or_absurd_is_400(client, page):
    token, _ = await seven_apps(client)
    response = await client.get(f"/api/oauth/apps?page={page}", headers=bearer(token))
    assert response.status_code == 400
    assert response.json() == {"message": "invalid payload", "status": "error"}


async def test_list_ignores_per_page(client):
    token, _ = await seven_apps(client)
    body = (await client.get("/api/oauth/apps?per_page=50", headers=bearer(token))).json()
    assert len(body["data"]["clients"]) == 5


async def test_list_of_a_user_without_apps(client):
    token = await user_token(client)
    response = await client.get("/api/oauth/apps", headers=bearer(token))
    assert response.json() == {
        "data": {"clients": []},
        "pagination": pagination(has_next=False, has_prev=False, page=1, pages=0, total=0),
        "status": "success",
    }


async def test_list_shows_only_the_users_own_apps(client):
    alice = await user_token(client, "alice")
    bob = await user_token(client, "bob")
    for i in range(3):
        await create_app(client, alice, client_name=f"alice{i}")
    mine = await create_app(client, bob, client_name="bob0")

    body = (await client.get("/api/oauth/apps", headers=bearer(bob))).json()
    assert body["data"]["clients"] == [without_secret(mine)]
    assert body["pagination"]["total"] == 1


async def test_list_costs_the_auth_query_and_one_page_query(client, statements):
    """The benchmarked path: one statement to authenticate, one for the page and its total."""
    token, _ = await seven_apps(client)
    statements.clear()
    response = await client.get("/api/oauth/apps?page=2", headers=bearer(token))
    assert response.status_code == 200
    assert len(response.json()["data"]["clients"]) == 2
    assert len(statements) == 2, statements


# --- delete ----------------------------------------------------------------------------------


async def test_delete_removes_the_app_its_codes_and_its_tokens(client, app):
    token = await user_token(client)
    doomed = await create_app(client, token, client_name="doomed")
    kept = await create_app(client, token, client_name="kept")
    alice = await user_pk(app, "alice")
    await add_code(app, doomed["id"], alice)
    await add_token(app, doomed["id"], alice)
    await add_token(app, doomed["id"], alice)
    await add_code(app, kept["id"], alice)
    _, kept_access = await add_token(app, kept["id"], alice)

    response = await client.delete(f"/api/oauth/apps/{doomed['id']}", headers=bearer(token))

    assert response.status_code == 204
    assert response.content == b""
    assert await count(app, OAuth2Client, id=doomed["id"]) == 0
    assert await count(app, AuthorizationCode, client_id=doomed["id"]) == 0
    assert await count(app, Token, client_id=doomed["id"]) == 0
    assert await count(app, AuthorizationCode, client_id=kept["id"]) == 1
    assert await count(app, Token, client_id=kept["id"]) == 1
    profile = await client.get("/api/auth/profile", headers=bearer(kept_access))
    assert profile.status_code == 200

    again = await client.delete(f"/api/oauth/apps/{doomed['id']}", headers=bearer(token))
    assert again.status_code == 404
    assert again.json() == NOT_FOUND
    gone = await client.get(f"/api/oauth/apps/{doomed['client_id']}", headers=bearer(token))
    assert gone.status_code == 404


async def test_deleted_apps_tokens_stop_working(client, app):
    token = await user_token(client)
    created = await create_app(client, token)
    _, access = await add_token(app, created["id"], await user_pk(app, "alice"))
    assert (await client.get("/api/auth/profile", headers=bearer(access))).status_code == 200

    await client.delete(f"/api/oauth/apps/{created['id']}", headers=bearer(token))

    assert (await client.get("/api/auth/profile", headers=bearer(access))).status_code == 401


async def test_a_deleted_apps_id_is_never_given_again(client):
    """On SQLite too (AUTOINCREMENT): deleting the newest app must not free its id, or a
    stale `/apps/<id>/by_id` (or a log line naming it) would point at the next app."""
    token = await user_token(client)
    first = await create_app(client, token)
    doomed = await create_app(client, token)
    await client.delete(f"/api/oauth/apps/{doomed['id']}", headers=bearer(token))
    successor = await create_app(client, token, client_name="Successor")

    assert first["id"] < doomed["id"] < successor["id"]
    stale = await client.get(f"/api/oauth/apps/{doomed['id']}/by_id", headers=bearer(token))
    assert stale.status_code == 404


@pytest.mark.parametrize("raw_id", ["abc", "999999", "0", "99999999999", "1.5"])
async def test_delete_unknown_or_not_an_integer_is_json_404(client, app, raw_id):
    token = await user_token(client)
    await create_app(client, token)
    response = await client.delete(f"/api/oauth/apps/{raw_id}", headers=bearer(token))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert await count(app, OAuth2Client) == 1


# --- revoke all tokens -----------------------------------------------------------------------


async def test_revoke_marks_every_token_of_the_app_and_no_other(client, app):
    token = await user_token(client)
    target = await create_app(client, token, client_name="target")
    other = await create_app(client, token, client_name="other")
    alice = await user_pk(app, "alice")
    target_tokens = [await add_token(app, target["id"], alice) for _ in range(3)]
    other_pk, other_access = await add_token(app, other["id"], alice)

    response = await client.post(f"/api/oauth/apps/{target['id']}/revoke", headers=bearer(token))

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    revoked = await rows(app, Token, client_id=target["id"])
    assert len(revoked) == 3
    assert all(row["revoked_at"] is not None for row in revoked)
    assert all(abs(row["revoked_at"] - clock.utcnow()) < timedelta(seconds=60) for row in revoked)
    [untouched] = await rows(app, Token, client_id=other["id"])
    assert untouched["id"] == other_pk and untouched["revoked_at"] is None
    for _, access in target_tokens:
        assert (await client.get("/api/auth/profile", headers=bearer(access))).status_code == 401
    assert (await client.get("/api/auth/profile", headers=bearer(other_access))).status_code == 200
    # The app itself stays.
    still = await client.get(f"/api/oauth/apps/{target['id']}/by_id", headers=bearer(token))
    assert still.status_code == 200


async def test_revoke_also_spends_the_apps_unused_codes(client, app):
    """A code issued before the revoke must not buy tokens after it (issue 10)."""
    token = await user_token(client)
    target = await create_app(client, token, client_name="target")
    other = await create_app(client, token, client_name="other")
    target_code = code_from(await authorize(client, token, target))
    other_code = code_from(await authorize(client, token, other))

    response = await client.post(f"/api/oauth/apps/{target['id']}/revoke", headers=bearer(token))
    assert response.status_code == 200

    [spent] = await rows(app, AuthorizationCode, client_id=target["id"])
    assert spent["used_at"] is not None
    refused = await exchange_code(client, target, target_code)
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_grant",
        "error_description": 'Invalid "code" in request.',
    }
    assert await count(app, Token) == 0
    # another app's code is untouched
    assert (await exchange_code(client, other, other_code)).status_code == 200


async def test_revoke_keeps_the_time_of_an_earlier_revocation(client, app):
    token = await user_token(client)
    created = await create_app(client, token)
    alice = await user_pk(app, "alice")
    await add_token(app, created["id"], alice)
    await client.post(f"/api/oauth/apps/{created['id']}/revoke", headers=bearer(token))
    [first] = await rows(app, Token, client_id=created["id"])

    clock.advance(3600)
    again = await client.post(f"/api/oauth/apps/{created['id']}/revoke", headers=bearer(token))

    assert again.status_code == 200
    [second] = await rows(app, Token, client_id=created["id"])
    assert second["revoked_at"] == first["revoked_at"]


async def test_revoke_of_an_app_without_tokens_succeeds(client):
    token = await user_token(client)
    created = await create_app(client, token)
    response = await client.post(f"/api/oauth/apps/{created['id']}/revoke", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"status": "success"}


@pytest.mark.parametrize("raw_id", ["abc", "999999", "-3", "99999999999"])
async def test_revoke_unknown_or_not_an_integer_is_json_404(client, raw_id):
    token = await user_token(client)
    await create_app(client, token)
    response = await client.post(f"/api/oauth/apps/{raw_id}/revoke", headers=bearer(token))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# --- ownership -------------------------------------------------------------------------------


async def test_another_users_app_is_404_everywhere_and_stays_as_it_was(client, app):
    alice = await user_token(client, "alice")
    bob = await user_token(client, "bob")
    created = await create_app(client, alice)
    alice_pk = await user_pk(app, "alice")
    await add_code(app, created["id"], alice_pk)
    _, access = await add_token(app, created["id"], alice_pk)
    before = await snapshot(app, created["id"])
    pk, client_id = created["id"], created["client_id"]

    attempts = [
        await client.get(f"/api/oauth/apps/{client_id}", headers=bearer(bob)),
        await client.get(f"/api/oauth/apps/{pk}/by_id", headers=bearer(bob)),
        await client.post(f"/api/oauth/apps/{pk}/revoke", headers=bearer(bob)),
        await client.delete(f"/api/oauth/apps/{pk}", headers=bearer(bob)),
    ]

    for response in attempts:
        assert response.status_code == 404, response.request.url
        assert response.json() == NOT_FOUND
    assert await snapshot(app, pk) == before
    assert before["tokens"][0]["revoked_at"] is None
    assert (await client.get("/api/auth/profile", headers=bearer(access))).status_code == 200
    listed = (await client.get("/api/oauth/apps", headers=bearer(bob))).json()
    assert listed["data"]["clients"] == []
    own = await client.get(f"/api/oauth/apps/{pk}/by_id", headers=bearer(alice))
    assert own.status_code == 200


# --- first party only ------------------------------------------------------------------------


def every_endpoint(pk: int, client_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", "/api/oauth/apps", {}),
        ("GET", "/api/oauth/apps?page=1", {}),
        ("POST", "/api/oauth/apps", {"json": app_payload(client_name="third party")}),
        ("GET", f"/api/oauth/apps/{client_id}", {}),
        ("GET", f"/api/oauth/apps/{pk}/by_id", {}),
        ("POST", f"/api/oauth/apps/{pk}/revoke", {}),
        ("DELETE", f"/api/oauth/apps/{pk}", {}),
    ]


async def test_every_endpoint_needs_a_token(client, app):
    token = await user_token(client)
    created = await create_app(client, token)
    before = await snapshot(app, created["id"])
    for method, url, extra in every_endpoint(created["id"], created["client_id"]):
        response = await client.request(method, url, **extra)
        assert response.status_code == 401, (method, url)
        assert response.json() == {"message": "provide a valid auth token", "status": "error"}
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert await snapshot(app, created["id"]) == before
    assert await count(app, OAuth2Client) == 1


async def test_an_oauth2_access_token_is_refused_whatever_its_scope(client, app):
    """First-party only (spec, "Where this project differs"): FitTrackee lets any access
    token list and create apps; here a token with every scope gets 401 and changes nothing."""
    token = await user_token(client)
    created = await create_app(client, token)
    _, access = await add_token(app, created["id"], await user_pk(app, "alice"), scope=ALL_SCOPES)
    assert (await client.get("/api/auth/profile", headers=bearer(access))).status_code == 200
    before = await snapshot(app, created["id"])

    for method, url, extra in every_endpoint(created["id"], created["client_id"]):
        response = await client.request(method, url, headers=bearer(access), **extra)
        assert response.status_code == 401, (method, url)
        assert response.json() == {
            "message": "invalid token, please log in again",
            "status": "error",
        }
        assert 'error="invalid_token"' in response.headers["www-authenticate"]

    assert await snapshot(app, created["id"]) == before
    assert await count(app, OAuth2Client) == 1


async def test_a_logged_out_user_token_is_refused(client):
    token = await user_token(client)
    await create_app(client, token)
    assert (await client.post("/api/auth/logout", headers=bearer(token))).status_code == 200
    response = await client.get("/api/oauth/apps", headers=bearer(token))
    assert response.status_code == 401


# --- routing and documentation ---------------------------------------------------------------


async def test_wrong_method_is_json(client):
    token = await user_token(client)
    created = await create_app(client, token)
    response = await client.put(f"/api/oauth/apps/{created['id']}", headers=bearer(token))
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"


async def test_openapi_documents_every_apps_endpoint(client):
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    operations = {
        ("/api/oauth/apps", "get"),
        ("/api/oauth/apps", "post"),
        ("/api/oauth/apps/{client_id}", "get"),
        ("/api/oauth/apps/{id}/by_id", "get"),
        ("/api/oauth/apps/{id}", "delete"),
        ("/api/oauth/apps/{id}/revoke", "post"),
    }
    for path, method in operations:
        operation = paths[path][method]
        assert operation["tags"] == ["apps"]
        assert "401" in operation["responses"]
        assert "422" not in operation["responses"]
        if "{" in path:
            assert "404" in operation["responses"]
            # Lookups cannot fail validation: a bad id is a 404, never a 400.
            assert "400" not in operation["responses"]
        else:
            assert "400" in operation["responses"]
        if "{id}" in path:
            [param] = [p for p in operation["parameters"] if p["in"] == "path"]
            assert param["name"] == "id" and param["schema"]["type"] == "integer"
        if "{client_id}" in path:
            [param] = [p for p in operation["parameters"] if p["in"] == "path"]
            assert param["name"] == "client_id" and param["schema"]["type"] == "string"

    create = paths["/api/oauth/apps"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"client_name", "client_uri", "redirect_uris", "scope"}
    assert "client_description" in schema["properties"]
    assert "201" in create["responses"]
    assert "400" in create["responses"]
    listing = paths["/api/oauth/apps"]["get"]
    assert [p["name"] for p in listing["parameters"] if p["in"] == "query"] == ["page"]
    assert "204" in paths["/api/oauth/apps/{id}"]["delete"]["responses"]
