"""End to end the way `garmin-to-fittrackee` 0.12.0 (PyPI) talks to FitTrackee 1.x (issue 11):
requests-oauthlib's `OAuth2Session`, web application flow, `client_secret_post`, no PKCE,
redirect URI `https://localhost/`, its exact scope string, and oauthlib's check that the
granted scope is the one asked for left on; then, as the tool does on its next run, a new
session from the saved tokens that refreshes by itself through `auto_refresh_url` and
`token_updater` once the access token has expired.

The live server speaks TLS with a throw-away certificate whose CA the client trusts (requests'
`verify`), as a deployment's real certificate is trusted: oauthlib refuses plain http, and
switching that check off (OAUTHLIB_INSECURE_TRANSPORT) would test something else. The user's
consent is the consent page the tool prints, then POST /api/oauth/authorize with the user's
token (what the page's Approve button sends); the tool has the user paste the callback URL.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from oauthlib.oauth2.rfc6749.errors import InsecureTransportError
from packaging.version import Version
from requests_oauthlib import OAuth2Session

from tests.certificates import ServerCertificate, make_server_certificate
from tests.helpers import PASSWORD, bearer
from tests.live_server import live_server

# garmin_to_fittrackee/fittrackee.py, 0.12.0.
OAUTH_SCOPE = (
    "equipments:read equipments:write media:write profile:read profile:write "
    "workouts:read workouts:write"
)
OAUTH_REDIRECT_URI = "https://localhost/"
OLDEST_SUPPORTED = Version("0.7.29")


@dataclass(frozen=True)
class Instance:
    base_url: str
    ca_file: str

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(autouse=True)
def session_verify_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, when set, override a Session's
    `verify` (psf/requests#3829); without them the CA given to the session is the one used."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return make_server_certificate(tmp_path_factory.mktemp("tls"))


def _serve(database_url: str, certificate: ServerCertificate, **env: str) -> Iterator[Instance]:
    with live_server(database_url, tls=certificate, env=env) as base_url:
        yield Instance(base_url, str(certificate.ca_file))


@pytest.fixture(scope="module")
def instance(database_url: str, certificate: ServerCertificate) -> Iterator[Instance]:
    """This server as deployed by default (FITTRACKEE_API_VERSION=1.3.6), over https."""
    yield from _serve(database_url, certificate)


@pytest.fixture(scope="module")
def instance_07(database_url: str, certificate: ServerCertificate) -> Iterator[Instance]:
    """The same, matching FitTrackee 0.7.17 (FITTRACKEE_API_VERSION=0.7.17)."""
    yield from _serve(database_url, certificate, FITTRACKEE_API_VERSION="0.7.17")


def user_and_app(instance: Instance) -> tuple[str, dict[str, Any]]:
    """What the tool's user does in the web client first: an account, and an app registered
    with the tool's redirect URI and scopes (the user pastes its id and secret into the tool)."""
    name = f"garmin_{secrets.token_hex(4)}"
    email = f"{name}@example.com"
    with requests.Session() as http:
        http.verify = instance.ca_file
        registered = http.post(
            instance.url("/api/auth/register"),
            json={"username": name, "email": email, "password": PASSWORD, "accepted_policy": True},
        )
        assert registered.status_code == 200, registered.text
        login = http.post(
            instance.url("/api/auth/login"), json={"email": email, "password": PASSWORD}
        )
        user_token = login.json()["auth_token"]
        created = http.post(
            instance.url("/api/oauth/apps"),
            headers=bearer(user_token),
            json={
                "client_name": "garmin-to-fittrackee",
                "client_uri": "https://localhost/",
                "redirect_uris": [OAUTH_REDIRECT_URI],
                "scope": OAUTH_SCOPE,
            },
        )
        assert created.status_code == 201, created.text
    return user_token, created.json()["data"]["client"]


def is_instance_supported(instance: Instance) -> bool:
    """The tool's `is_instance_is_supported`: GET /api/config, no authentication."""
    config = requests.get(instance.url("/api/config"), verify=instance.ca_file).json()
    return "data" in config and Version(config["data"]["version"]) >= OLDEST_SUPPORTED


@dataclass
class Flow:
    oauth: OAuth2Session
    tokens: dict[str, Any]
    sent: list[requests.PreparedRequest]
    consent_page: str


def approve(instance: Instance, user_token: str, authorization_url: str) -> tuple[str, str]:
    """The user opens the printed URL (the consent page), approves, and copies the callback
    URL from the browser's address bar: the page, and that URL."""
    page = requests.get(authorization_url, verify=instance.ca_file)
    assert page.status_code == 200, page.text
    assert "garmin-to-fittrackee" in page.text
    params = dict(parse_qsl(urlsplit(authorization_url).query))
    approved = requests.post(
        instance.url("/api/oauth/authorize"),
        data={**params, "confirm": "true"},
        headers=bearer(user_token),
        verify=instance.ca_file,
    )
    assert approved.status_code == 200, approved.text
    return page.text, approved.json()["redirect_url"]


def web_application_flow(
    instance: Instance, client_id: str, client_secret: str, user_token: str
) -> Flow:
    """The tool's `__web_application_flow`, word for word but for the CA: where it passes
    `verify=True` (the system's CAs), this passes the CA that signed the server's certificate."""
    oauth = OAuth2Session(client_id, redirect_uri=OAUTH_REDIRECT_URI, scope=OAUTH_SCOPE)
    sent: list[requests.PreparedRequest] = []
    oauth.hooks["response"].append(lambda response, **_: sent.append(response.request))
    authorization_url, _state = oauth.authorization_url(instance.url("/profile/apps/authorize"))
    consent_page, authorization_response = approve(instance, user_token, authorization_url)
    tokens = oauth.fetch_token(
        instance.url("/api/oauth/token"),
        authorization_response=authorization_response,
        client_secret=client_secret,
        include_client_id=True,
        verify=instance.ca_file,
    )
    return Flow(oauth, tokens, sent, consent_page)


def test_a_fittrackee_13_client_works_unchanged(instance: Instance) -> None:
    # setup: the instance check, then the app the user registered.
    assert is_instance_supported(instance)
    user_token, app = user_and_app(instance)
    client_id, client_secret = app["client_id"], app["client_secret"]
    assert set(app["scope"].split()) == set(OAUTH_SCOPE.split())

    # 1. Authorize and exchange: oauthlib checks that every scope asked for was granted.
    flow = web_application_flow(instance, client_id, client_secret, user_token)
    oauth, tokens, sent = flow.oauth, flow.tokens, flow.sent
    assert "Upload images" in flow.consent_page  # media:write, in plain words
    assert set(tokens["scope"]) == set(OAUTH_SCOPE.split())
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 864000
    exchange = dict(parse_qsl(sent[-1].body))
    assert "Authorization" not in sent[-1].headers  # client_secret_post: in the body only
    assert exchange["client_id"] == client_id and exchange["client_secret"] == client_secret
    assert exchange["redirect_uri"] == OAUTH_REDIRECT_URI and "code_verifier" not in exchange

    # 2. The API, with the access token.
    oauth.verify = instance.ca_file
    profile = oauth.get(instance.url("/api/auth/profile"))
    assert profile.status_code == 200, profile.text
    assert profile.json()["data"]["username"].startswith("garmin_")
    introspected = requests.post(
        instance.url("/api/oauth/introspect"),
        data={"token": tokens["access_token"], "client_id": client_id,
              "client_secret": client_secret},
        verify=instance.ca_file,
    ).json()  # fmt: skip
    assert introspected["active"] is True
    assert set(introspected["scope"].split()) == set(OAUTH_SCOPE.split())

    # 3. The next run: a session from the saved tokens, which refreshes by itself once the
    # access token has expired (here: the saved expiry has passed, as it does after 10 days).
    saved = {**tokens, "expires_at": time.time() - 60}
    updates: list[dict[str, Any]] = []
    client = OAuth2Session(
        client_id,
        token=saved,
        auto_refresh_url=instance.url("/api/oauth/token"),
        auto_refresh_kwargs={"client_id": client_id, "client_secret": client_secret},
        token_updater=updates.append,
    )
    client.verify = instance.ca_file
    refreshed_profile = client.get(instance.url("/api/auth/profile"))
    assert refreshed_profile.status_code == 200, refreshed_profile.text
    assert len(updates) == 1
    new = updates[0]
    assert new["access_token"] != tokens["access_token"]
    assert new["refresh_token"] != tokens["refresh_token"]
    assert set(new["scope"]) == set(OAUTH_SCOPE.split())
    assert new["expires_in"] == 864000
    # Rotation revoked the old pair (RFC 9700 §4.14.2).
    old = requests.get(
        instance.url("/api/auth/profile"),
        headers=bearer(tokens["access_token"]),
        verify=instance.ca_file,
    )
    assert old.status_code == 401

    # 4. Revoke (RFC 7009), with client_secret_post as everywhere else.
    revoked = client.post(
        instance.url("/api/oauth/revoke"),
        data={"token": new["refresh_token"], "client_id": client_id,
              "client_secret": client_secret},
        withhold_token=True,
    )  # fmt: skip
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {}
    assert client.get(instance.url("/api/auth/profile")).status_code == 401
    assert updates == [new]  # a revoked token is not "refreshed" behind the user's back


def test_the_07_setting_is_what_such_a_client_refuses(instance_07: Instance) -> None:
    """Matching FitTrackee 0.7.17 is what the issue saw: the instance check fails, and the
    1.x scopes are dropped, so oauthlib stops with "Scope has changed" (proof that its check
    is on in the test above)."""
    assert not is_instance_supported(instance_07)
    user_token, app = user_and_app(instance_07)
    assert app["scope"] == "profile:read profile:write workouts:read workouts:write"
    with pytest.raises(Warning, match="Scope has changed"):
        web_application_flow(instance_07, app["client_id"], app["client_secret"], user_token)


def test_oauthlib_refuses_plain_http(instance: Instance) -> None:
    """Why the server speaks TLS here: the client would not talk to it otherwise."""
    oauth = OAuth2Session("any", redirect_uri=OAUTH_REDIRECT_URI, scope=OAUTH_SCOPE)
    plain = instance.base_url.replace("https://", "http://", 1)
    with pytest.raises(InsecureTransportError):
        oauth.fetch_token(plain + "/api/oauth/token", code="x", client_secret="y")
