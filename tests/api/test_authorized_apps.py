"""`/api/oauth/authorized_apps*` over HTTP, on this run's database: the apps a user let in
(what they hold, since when, last issue, sessions), pagination as FitTrackee's, ownership,
and taking an app's access back in one transaction, with the tables checked directly."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from app.api.formats import long_http_date
from app.db.models import AuthorizationCode, Consent, OAuth2Client, Token, User
from app.observability.metrics import REGISTRY
from tests.databases import stored_rows
from tests.helpers import (
    authorize,
    bearer,
    code_from,
    create_app,
    exchange_code,
    issue_tokens,
    profile_status,
    refresh_tokens,
    revoke_request,
    user_token,
)

LIST = "/api/oauth/authorized_apps"
NOT_FOUND = {"message": "OAuth2 client not found", "status": "not found"}
HTTP_DATE = re.compile(r"^\w{3}, \d{2} \w+ \d{4} \d{2}:\d{2}:\d{2} GMT$")


async def listed(client: httpx.AsyncClient, token: str, page: int | None = None) -> dict:
    params = {} if page is None else {"page": page}
    response = await client.get(LIST, params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def user_pk(app: FastAPI, username: str) -> int:
    [row] = await stored_rows(app, User, User.username == username)
    return row["id"]


async def client_pk(app: FastAPI, client_id: str) -> int:
    [row] = await stored_rows(app, OAuth2Client, OAuth2Client.client_id == client_id)
    return row["id"]


def revoked_by_users() -> float:
    return REGISTRY.get_sample_value("tokens_revoked_total", {"reason": "user_revoke"}) or 0.0


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> str:
    return await user_token(client, "bob")


# --- the list ---------------------------------------------------------------------------------


async def test_a_new_user_has_let_no_app_in(client, alice):
    assert await listed(client, alice) == {
        "data": {"authorized_apps": []},
        "pagination": {"has_next": False, "has_prev": False, "page": 1, "pages": 0, "total": 0},
        "status": "success",
    }


async def test_an_app_with_tokens_is_listed_with_what_it_holds(client, app, alice, bob):
    oauth_app = await create_app(client, alice, client_description="Imports GPX files")
    await issue_tokens(client, bob, oauth_app, scope="profile:read")
    body = await listed(client, bob)
    [entry] = body["data"]["authorized_apps"]
    assert entry == {
        "client_id": oauth_app["client_id"],
        "name": "Cap App",
        "website": "https://example.com",
        "description": "Imports GPX files",
        "scope": "profile:read",
        "first_authorized_at": entry["first_authorized_at"],
        "last_used_at": entry["last_used_at"],
        "sessions": 1,
    }
    [pair] = await stored_rows(app, Token)
    assert (
        entry["first_authorized_at"] == entry["last_used_at"] == long_http_date(pair["issued_at"])
    )
    assert HTTP_DATE.match(entry["first_authorized_at"])
    assert body["pagination"] == {
        "has_next": False,
        "has_prev": False,
        "page": 1,
        "pages": 1,
        "total": 1,
    }
    # The app's owner did not let it in: their own list is empty.
    assert (await listed(client, alice))["data"]["authorized_apps"] == []


async def test_an_unused_code_is_a_grant_with_no_session_yet(client, alice):
    oauth_app = await create_app(client, alice)
    code_from(await authorize(client, alice, oauth_app, scope="workouts:read"))
    [entry] = (await listed(client, alice))["data"]["authorized_apps"]
    assert (entry["scope"], entry["sessions"], entry["last_used_at"]) == ("workouts:read", 0, None)
    clock.advance(301)  # the code expires: nothing is held any more
    assert (await listed(client, alice))["data"]["authorized_apps"] == []


async def test_a_refresh_moves_last_used_and_keeps_first_authorized(client, app, alice):
    oauth_app = await create_app(client, alice)
    tokens = await issue_tokens(client, alice, oauth_app)
    [first] = (await listed(client, alice))["data"]["authorized_apps"]
    clock.advance(3 * 86400)
    refreshed = await refresh_tokens(
        client, oauth_app, tokens["refresh_token"], scope="profile:read"
    )
    assert refreshed.status_code == 200, refreshed.text
    [after] = (await listed(client, alice))["data"]["authorized_apps"]
    assert after["first_authorized_at"] == first["first_authorized_at"]
    newest = max(row["issued_at"] for row in await stored_rows(app, Token))
    assert after["last_used_at"] == long_http_date(newest)
    assert after["last_used_at"] != first["last_used_at"]
    # One family still; the scope is what the live pair holds now (narrowed).
    assert (after["sessions"], after["scope"]) == (1, "profile:read")


async def test_using_a_token_writes_nothing(client, alice, app, statements):
    oauth_app = await create_app(client, alice)
    tokens = await issue_tokens(client, alice, oauth_app)
    statements.clear()
    assert await profile_status(client, tokens["access_token"]) == 200
    assert statements == ["SELECT"]  # W1 stays one read: "last used" is the last issue


async def test_sessions_count_live_families_and_scopes_are_their_union(client, alice):
    oauth_app = await create_app(client, alice, scope="profile:read workouts:read workouts:write")
    await issue_tokens(client, alice, oauth_app, scope="workouts:write")
    await issue_tokens(client, alice, oauth_app, scope="profile:read")
    revoked = await issue_tokens(client, alice, oauth_app, scope="workouts:read")
    response = await revoke_request(client, oauth_app, token=revoked["access_token"])
    assert response.status_code == 200
    [entry] = (await listed(client, alice))["data"]["authorized_apps"]
    assert entry["sessions"] == 2
    assert entry["scope"] == "profile:read workouts:write"  # catalogue order, revoked left out


async def test_revoked_and_expired_tokens_are_not_held(client, alice, server_with):
    oauth_app = await create_app(client, alice)
    tokens = await issue_tokens(client, alice, oauth_app)
    await revoke_request(client, oauth_app, token=tokens["refresh_token"])
    assert (await listed(client, alice))["data"]["authorized_apps"] == []
    await issue_tokens(client, alice, oauth_app)
    clock.advance(2 * 864000 + 1)  # both tokens expired
    assert (await listed(client, alice))["data"]["authorized_apps"] == []


async def test_an_access_token_outliving_its_refresh_token_is_still_held(server_with):
    """With `REFRESH_TOKEN_LIFETIME` shorter than the access token's, a pair whose refresh
    token expired still opens the API: it is listed, and revoked by the removal."""
    async with server_with(access_token_lifetime=3600, refresh_token_lifetime=60) as http:
        token = await user_token(http)
        oauth_app = await create_app(http, token)
        tokens = await issue_tokens(http, token, oauth_app)
        clock.advance(120)
        [entry] = (await listed(http, token))["data"]["authorized_apps"]
        assert entry["sessions"] == 1
        removed = await http.delete(f"{LIST}/{oauth_app['client_id']}", headers=bearer(token))
        assert removed.status_code == 204
        assert await profile_status(http, tokens["access_token"]) == 401


async def test_a_remembered_consent_alone_is_listed(client, alice, app):
    """An app the user approved on the consent page may get a code without asking, so it is
    let in even once its codes and tokens are gone: listed, with the consent's scope."""
    oauth_app = await create_app(client, alice)
    user_id = await user_pk(app, "alice")
    pk = await client_pk(app, oauth_app["client_id"])
    consents = app.state.services.storage.consents
    await consents.remember(
        user_id=user_id, client_pk=pk, scope="workouts:read", now=clock.utcnow()
    )
    [entry] = (await listed(client, alice))["data"]["authorized_apps"]
    assert (entry["scope"], entry["sessions"], entry["last_used_at"]) == ("workouts:read", 0, None)


async def test_pages_of_five_newest_activity_first_as_fittrackee_pages(client, alice):
    apps = [await create_app(client, alice, client_name=f"app {n}") for n in range(7)]
    for oauth_app in reversed(apps):  # the first app is used last
        clock.advance(10)
        await issue_tokens(client, alice, oauth_app)
    first = await listed(client, alice)
    assert [e["name"] for e in first["data"]["authorized_apps"]] == [f"app {n}" for n in range(5)]
    assert first["pagination"] == {
        "has_next": True,
        "has_prev": False,
        "page": 1,
        "pages": 2,
        "total": 7,
    }
    second = await listed(client, alice, page=2)
    assert [e["name"] for e in second["data"]["authorized_apps"]] == ["app 5", "app 6"]
    assert second["pagination"]["has_next"] is False and second["pagination"]["has_prev"]
    past = await listed(client, alice, page=3)
    assert past["data"]["authorized_apps"] == []
    assert past["pagination"] == {
        "has_next": False,
        "has_prev": True,
        "page": 3,
        "pages": 2,
        "total": 7,
    }
    assert (await listed(client, alice, page=0))["pagination"]["page"] == 1
    # Using an app again brings it to the top.
    clock.advance(10)
    await issue_tokens(client, alice, apps[6])
    top = (await listed(client, alice))["data"]["authorized_apps"][0]
    assert top["name"] == "app 6"


async def test_the_list_costs_one_query_however_many_apps(client, alice, statements):
    one = await create_app(client, alice)
    await issue_tokens(client, alice, one)
    statements.clear()
    await listed(client, alice)
    cost = len(statements)
    for n in range(6):
        await issue_tokens(client, alice, await create_app(client, alice, client_name=f"{n}"))
    statements.clear()
    await listed(client, alice, page=2)
    assert len(statements) == cost
    assert statements.count("SELECT") == cost  # reads only


@pytest.mark.parametrize("page", ["x", "1.5", str(2**31)])
async def test_a_page_that_cannot_be_served_is_invalid_payload(client, alice, page):
    response = await client.get(LIST, params={"page": page}, headers=bearer(alice))
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "invalid payload"}


async def test_first_party_only(client, alice):
    oauth_app = await create_app(client, alice)
    tokens = await issue_tokens(client, alice, oauth_app)
    missing = await client.get(LIST)
    assert missing.status_code == 401
    assert missing.json() == {"status": "error", "message": "provide a valid auth token"}
    for token in (tokens["access_token"], "not-a-jwt"):
        refused = await client.get(LIST, headers=bearer(token))
        assert refused.status_code == 401, token
        assert refused.json()["message"] == "invalid token, please log in again"
        removal = await client.delete(f"{LIST}/{oauth_app['client_id']}", headers=bearer(token))
        assert removal.status_code == 401
    assert await profile_status(client, tokens["access_token"]) == 200  # nothing revoked


# --- taking an app's access back ------------------------------------------------------------


async def test_removing_an_app_revokes_its_tokens_spends_its_codes_and_forgets_it(
    client, app, alice, bob
):
    oauth_app = await create_app(client, alice)
    bobs = await issue_tokens(client, bob, oauth_app)
    unused = code_from(await authorize(client, bob, oauth_app))
    alices = await issue_tokens(client, alice, oauth_app)  # the owner's own grant
    bob_id, pk = await user_pk(app, "bob"), await client_pk(app, oauth_app["client_id"])
    consents = app.state.services.storage.consents
    await consents.remember(user_id=bob_id, client_pk=pk, scope="profile:read", now=clock.utcnow())
    before = revoked_by_users()

    removed = await client.delete(f"{LIST}/{oauth_app['client_id']}", headers=bearer(bob))

    assert removed.status_code == 204
    assert removed.content == b""
    assert revoked_by_users() == before + 1
    assert await profile_status(client, bobs["access_token"]) == 401
    refresh = await refresh_tokens(client, oauth_app, bobs["refresh_token"])
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    exchanged = await exchange_code(client, oauth_app, unused)
    assert exchanged.status_code == 400 and exchanged.json()["error"] == "invalid_grant"
    assert await stored_rows(app, Consent) == []
    assert (await listed(client, bob))["data"]["authorized_apps"] == []
    # Alice's grant to the same app, and the app itself, are untouched.
    assert await profile_status(client, alices["access_token"]) == 200
    own = await client.get(f"/api/oauth/apps/{oauth_app['client_id']}", headers=bearer(alice))
    assert own.status_code == 200
    assert len((await listed(client, alice))["data"]["authorized_apps"]) == 1
    tokens = await stored_rows(app, Token, Token.user_id == bob_id)
    assert [row["revoked_at"] is not None for row in tokens] == [True]
    codes = await stored_rows(app, AuthorizationCode, AuthorizationCode.user_id == bob_id)
    assert all(row["used_at"] is not None for row in codes)


async def test_a_removed_app_is_asked_about_again(client, app, alice):
    oauth_app = await create_app(client, alice)
    user_id, pk = await user_pk(app, "alice"), await client_pk(app, oauth_app["client_id"])
    consents = app.state.services.storage.consents
    await consents.remember(user_id=user_id, client_pk=pk, scope="profile:read", now=clock.utcnow())
    removed = await client.delete(f"{LIST}/{oauth_app['client_id']}", headers=bearer(alice))
    assert removed.status_code == 204  # a consent alone is something to remove
    assert await consents.granted_scope(user_id=user_id, client_pk=pk) is None
    again = await client.delete(f"{LIST}/{oauth_app['client_id']}", headers=bearer(alice))
    assert again.status_code == 404
    assert again.json() == NOT_FOUND


async def test_an_app_holding_nothing_of_the_users_is_not_found(client, app, alice, bob):
    oauth_app = await create_app(client, alice)
    alices = await issue_tokens(client, alice, oauth_app)
    for client_id in (oauth_app["client_id"], "x" * 24, "x" * 49, "%00"):
        response = await client.delete(f"{LIST}/{client_id}", headers=bearer(bob))
        assert response.status_code == 404, client_id
        assert response.json() == NOT_FOUND
    assert await profile_status(client, alices["access_token"]) == 200
    [pair] = await stored_rows(app, Token)
    assert pair["revoked_at"] is None


async def test_the_removal_is_all_or_nothing(client, app, alice, monkeypatch):
    """A failure after the tokens were revoked and the codes spent (here: forgetting the
    consent fails) leaves every token live and every code unspent: one transaction."""
    from app.db.repositories import authorized_apps

    oauth_app = await create_app(client, alice)
    tokens = await issue_tokens(client, alice, oauth_app)
    code_from(await authorize(client, alice, oauth_app))
    broken = authorized_apps.Query(authorized_apps.select(authorized_apps.func.nosuchfunction()))
    monkeypatch.setattr(authorized_apps, "FORGET_CONSENT", broken)
    repository = app.state.services.storage.authorized_apps
    with pytest.raises(Exception):  # noqa: B017 - whichever the database raises
        await repository.revoke(
            user_id=await user_pk(app, "alice"),
            client_id=oauth_app["client_id"],
            now=clock.utcnow(),
        )
    monkeypatch.undo()
    assert await profile_status(client, tokens["access_token"]) == 200
    codes = await stored_rows(app, AuthorizationCode)
    assert sorted(row["used_at"] is None for row in codes) == [False, True]  # exchanged, unused


async def test_a_deleted_app_disappears_from_its_users_lists(client, alice, bob):
    oauth_app = await create_app(client, alice)
    await issue_tokens(client, bob, oauth_app)
    deleted = await client.delete(f"/api/oauth/apps/{oauth_app['id']}", headers=bearer(alice))
    assert deleted.status_code == 204
    assert (await listed(client, bob))["data"]["authorized_apps"] == []


def _keys(entry: dict[str, Any]) -> set[str]:
    return set(entry)


async def test_the_documented_item_is_the_one_answered(client, alice):
    oauth_app = await create_app(client, alice)
    await issue_tokens(client, alice, oauth_app)
    [entry] = (await listed(client, alice))["data"]["authorized_apps"]
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert _keys(entry) == set(schema["AuthorizedAppItem"]["properties"])
    assert set(schema["AuthorizedAppItem"]["required"]) == _keys(entry)
