"""The authorization endpoint (RFC 6749 §4.1.1-§4.1.2) as FitTrackee exposes it: the user,
logged in to the first-party client, approves an app, and gets back the URL to send the
browser to, carrying a fresh authorization code.

Every refusal here is raised, never redirected: a redirect URI is only trusted once it is known
to belong to the client (§4.1.2.1, RFC 9700 §4.1), and the caller is the first-party client,
which shows the error to the user. The consent page runs the same checks before it shows the
request to the user (`interact`), and renders their refusals itself.

The consent page remembers what the user approved there (`ConsentStore`): a later request
for no more than that is approved without asking, and OpenID Connect's `prompt` says when to
ask anyway (`consent`) or never to ask (`none`). The JSON endpoint (`authorize`) stays as
FitTrackee's: each call is an explicit approval, and it remembers nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from app import clock
from app.clients.uris import INVALID_SCHEME, private_use_schemes, redirect_scheme_allowed
from app.config import Settings
from app.oauth import pkce
from app.oauth.clients import plausible_client_id
from app.oauth.errors import (
    AccessDenied,
    ConsentRequired,
    InvalidRequest,
    InvalidScope,
    LoginRequired,
    OAuthError,
    UnsupportedResponseType,
)
from app.oauth.ports import ClientStore, CodeStore, ConsentStore
from app.oauth.scopes import ScopeCatalogue, parse_scope
from app.oauth.secrets import CODE_LENGTH, hash_secret, random_alphanumeric

INVALID_CLIENT_ID = 'Invalid "client_id" in request.'
INVALID_REDIRECT_URI = 'Invalid "redirect_uri" in request.'
MISSING_REDIRECT_URI = 'Missing "redirect_uri" in request.'
UNSUPPORTED_RESPONSE_TYPE = 'Unsupported "response_type"'
INVALID_PROMPT = '"prompt=none" cannot be combined with another value.'
# OpenID Connect Core §3.1.2.1's values this server acts on; `login` and `select_account`
# ask, as `consent` does (the page says who is logged in, with a way to switch).
PROMPT_NONE = "none"
PROMPTS_THAT_ASK = frozenset({"consent", "login", "select_account"})


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """The approval form's fields; None for a field that was not sent."""

    client_id: str
    response_type: str
    confirm: bool
    scope: str | None = None
    redirect_uri: str | None = None
    state: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: str | None = None  # the consent page's only (OpenID Connect Core §3.1.2.1)

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, confirm: bool) -> AuthorizationRequest:
        """From a form or query already checked to hold `client_id` and `response_type`."""
        return cls(
            client_id=params["client_id"],
            response_type=params["response_type"],
            confirm=confirm,
            scope=params.get("scope"),
            redirect_uri=params.get("redirect_uri"),
            state=params.get("state"),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
            prompt=params.get("prompt"),
        )


@dataclass(frozen=True, slots=True)
class ReviewedRequest:
    """An authorization request that passed every check but the user's consent: what the
    consent page shows, and where the browser goes either way."""

    client_pk: int
    client_name: str
    client_website: str
    redirect_uri: str
    scope: str
    state: str | None
    issuer: str | None

    def denial_url(self) -> str:
        """RFC 6749 §4.1.2.1: the user said no; `access_denied`, the state and the issuer
        (RFC 9207 §2) go back to the validated redirect URI (and only there)."""
        return self.error_url(AccessDenied())

    def error_url(self, error: OAuthError) -> str:
        """RFC 6749 §4.1.2.1: `error`'s code, the state and the issuer, to the validated
        redirect URI."""
        return with_query(self.redirect_uri, error=error.error, state=self.state, iss=self.issuer)


@dataclass(frozen=True, slots=True)
class AskConsent:
    """The consent page must ask the user about `reviewed`. `remembered`: the scopes they
    approved for this app before (none when no one is logged in); the page marks the others
    as new."""

    reviewed: ReviewedRequest
    remembered: frozenset[str]

    @property
    def new_scopes(self) -> frozenset[str]:
        return frozenset(self.reviewed.scope.split()) - self.remembered


@dataclass(frozen=True, slots=True)
class SendBack:
    """The browser goes back to the app at once, to `url`: a code the remembered consent
    approved, or `prompt=none`'s error."""

    url: str


class AuthorizationEndpoint:
    def __init__(
        self,
        clients: ClientStore,
        codes: CodeStore,
        consents: ConsentStore,
        settings: Settings,
        scopes: ScopeCatalogue,
    ) -> None:
        self._clients = clients
        self._codes = codes
        self._consents = consents
        self._settings = settings
        self._scopes = scopes
        self._private_schemes = private_use_schemes(settings.extra_redirect_schemes)

    async def review(
        self, request: AuthorizationRequest, *, issuer: str | None = None
    ) -> ReviewedRequest:
        """Every check `authorize` makes before asking for consent, deciding nothing: for the
        consent page's denial, and to learn where a request would send the browser (RFC 6749
        §4.1.2.1: a bad client or redirect URI is raised, to be shown to the user, never
        redirected to). One SELECT of the client."""
        self._checked_parameters(request)
        return await _reviewed(
            self._clients, request, self._scopes, self._private_schemes, self._issuer(issuer)
        )

    async def interact(
        self, user_id: int | None, request: AuthorizationRequest, *, issuer: str | None = None
    ) -> AskConsent | SendBack:
        """What the consent page does with a request before the user says anything; `user_id`
        is who is logged in there, if anyone.

        Every check of `review` first: a refusal is raised (the page shows it). Then
        `prompt` (OpenID Connect Core §3.1.2.1): absent, a request for no more than the
        user approved before is approved at once (a code, with the checks and costs of
        `authorize`); `consent` (or `login`, `select_account`) always asks; `none` never
        asks: it answers `login_required` or `consent_required` to the redirect URI.
        Costs one SELECT of the client, one of the consent when someone is logged in, and
        the code's INSERT when one is issued.
        """
        challenge = self._checked_parameters(request)
        prompts = set(request.prompt.split()) if request.prompt else set()
        if PROMPT_NONE in prompts and len(prompts) > 1:
            raise InvalidRequest(INVALID_PROMPT)
        reviewed = await _reviewed(
            self._clients, request, self._scopes, self._private_schemes, self._issuer(issuer)
        )
        if user_id is None:
            if PROMPT_NONE in prompts:
                return SendBack(reviewed.error_url(LoginRequired()))
            return AskConsent(reviewed, frozenset())
        granted = await self._consents.granted_scope(user_id=user_id, client_pk=reviewed.client_pk)
        remembered = frozenset(granted.split()) if granted else frozenset()
        ask = AskConsent(reviewed, remembered)
        if not ask.new_scopes and not prompts & PROMPTS_THAT_ASK:
            return SendBack(await self._issue(user_id, request, reviewed, challenge))
        if PROMPT_NONE in prompts:
            return SendBack(reviewed.error_url(ConsentRequired()))
        return ask

    async def authorize(
        self,
        user_id: int,
        request: AuthorizationRequest,
        *,
        issuer: str | None = None,
        remember: bool = False,
    ) -> str:
        """Issue a code for `user_id`'s approval; the redirect URL that carries it, with the
        state and `iss` (RFC 9207 §2: the client checks it against the issuer it expects, so
        a code cannot be passed off as another server's).

        Checks, cheapest first: response type, PKCE parameters, then the client, its redirect
        URI and the scope, and last the user's consent. Costs one SELECT of the client and one
        INSERT of the code (stored hashed, living `code_lifetime` seconds). With `remember`
        (the consent page's approval) the scope is then added to what the user approved for
        the app before, so that a later request for no more is approved without asking.
        """
        challenge = self._checked_parameters(request)
        reviewed = await _reviewed(
            self._clients, request, self._scopes, self._private_schemes, self._issuer(issuer)
        )
        if not request.confirm:
            raise AccessDenied()
        url = await self._issue(user_id, request, reviewed, challenge)
        if remember:
            await self._consents.remember(
                user_id=user_id,
                client_pk=reviewed.client_pk,
                scope=reviewed.scope,
                now=clock.utcnow(),
            )
        return url

    async def _issue(
        self,
        user_id: int,
        request: AuthorizationRequest,
        reviewed: ReviewedRequest,
        challenge: tuple[str, str] | None,
    ) -> str:
        """Store a new code (hashed) for the reviewed request; the redirect URL carrying it."""
        code = random_alphanumeric(CODE_LENGTH)
        now = clock.utcnow()
        created = await self._codes.create(
            code_hash=hash_secret(code),
            client_pk=reviewed.client_pk,
            user_id=user_id,
            scope=reviewed.scope,
            redirect_uri=request.redirect_uri,
            code_challenge=challenge[0] if challenge else None,
            code_challenge_method=challenge[1] if challenge else None,
            created_at=now,
            expires_at=now + timedelta(seconds=self._settings.code_lifetime),
        )
        if not created:  # the client was deleted since `_reviewed` read it
            raise InvalidRequest(INVALID_CLIENT_ID)
        return with_query(
            reviewed.redirect_uri, code=code, state=request.state, iss=reviewed.issuer
        )

    def _issuer(self, named: str | None) -> str | None:
        """`ISSUER`, or the one the caller names: the issuer of the metadata document that
        the request's client read (outside production, it may follow a trusted Host)."""
        return named or self._settings.issuer.rstrip("/") or None

    def _checked_parameters(self, request: AuthorizationRequest) -> tuple[str, str] | None:
        """The checks that need no query: response type (§4.1.1), PKCE (RFC 7636 §4.4.1) and
        a client_id worth looking up. The stored (challenge, method), if any."""
        if request.response_type != "code":
            raise UnsupportedResponseType(UNSUPPORTED_RESPONSE_TYPE)
        challenge = pkce.checked_challenge(
            request.code_challenge,
            request.code_challenge_method,
            required=self._settings.oauth2_require_pkce,
            allow_plain=self._settings.oauth2_allow_plain_pkce,
        )
        if not plausible_client_id(request.client_id):
            raise InvalidRequest(INVALID_CLIENT_ID)
        return challenge


async def _reviewed(
    clients: ClientStore,
    request: AuthorizationRequest,
    scopes: ScopeCatalogue,
    private_schemes: frozenset[str],
    issuer: str | None,
) -> ReviewedRequest:
    """The client (§2.2), its redirect URI (§3.1.2.3) and the scope (§3.3).

    The redirect URI's scheme is checked again, as FitTrackee 1.3.5 does: a scheme the
    operator no longer accepts (`OAUTH2_EXTRA_REDIRECT_SCHEMES`) stops working at once.
    """
    client = await clients.by_client_id(client_id=request.client_id)
    if client is None:
        raise InvalidRequest(INVALID_CLIENT_ID)
    redirect_uri = _redirect_uri(request.redirect_uri, client.redirect_uris)
    if not redirect_scheme_allowed(redirect_uri, private_schemes):
        raise InvalidRequest(INVALID_SCHEME)
    scope = _granted_scope(request.scope, client.scope, scopes)
    return ReviewedRequest(
        client_pk=client.pk,
        client_name=client.name,
        client_website=client.website,
        redirect_uri=redirect_uri,
        scope=scope,
        state=request.state,
        issuer=issuer,
    )


def _redirect_uri(requested: str | None, registered: Sequence[str]) -> str:
    """RFC 6749 §3.1.2.3: a given redirect_uri must equal a registered one exactly (simple
    string comparison, RFC 9700 §4.1.3); without one, the first registered URI is used, as
    FitTrackee does."""
    if requested is None:
        if not registered:
            raise InvalidRequest(MISSING_REDIRECT_URI)
        return registered[0]
    if requested not in registered:
        raise InvalidRequest(INVALID_REDIRECT_URI)
    return requested


def _granted_scope(requested: str | None, client_scope: str, scopes: ScopeCatalogue) -> str:
    """RFC 6749 §3.3: no scope asks for everything the client may have; otherwise the request
    is narrowed to the client's scopes, and refused when nothing of it is left. Only the
    instance's catalogue counts: a scope the app registered under a newer
    `FITTRACKEE_API_VERSION` is not granted under an older one (nor is an empty scope)."""
    allowed = set(client_scope.split()) & scopes.known
    wanted = parse_scope(requested)
    granted = allowed.intersection(wanted) if wanted else allowed
    if not granted:
        raise InvalidScope()
    return scopes.format(granted)


def with_query(uri: str, **params: str | None) -> str:
    """`uri` with `params` (those not None) added to its query, keeping any query it has
    (RFC 6749 §3.1.2: the registered URI's query component must be retained)."""
    added = urlencode([(k, v) for k, v in params.items() if v is not None])
    parts = urlsplit(uri)
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))
