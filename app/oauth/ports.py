"""What the engine needs from storage, declared by the engine (as fosite's
`handler/oauth2/storage.go`): one small `Protocol` per aggregate, keyword-only methods, and
the engine's own frozen values in and out, never a database row.

Each method is one unit of work, atomic on its own: the storage decides how (one statement,
a data-modifying CTE, or a transaction), the engine never does. Spending is guarded in the
storage, so that of concurrent calls exactly one spends a code or a refresh token. Every
implementation passes the same contract (`tests/db/test_store_contract.py`): the SQL
repositories (`app.db.repositories`) on SQLite and PostgreSQL, and the in-memory store the
engine's unit tests use (`app.oauth.memory_store`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.accounts.profile import UserProfile


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A client as the engine authenticates it and checks its requests (RFC 6749 §2)."""

    pk: int
    client_id: str
    client_secret_hash: str
    name: str
    website: str
    redirect_uris: Sequence[str]
    scope: str


@dataclass(frozen=True, slots=True)
class SpentCode:
    """An authorization code as it was when it was spent (RFC 6749 §4.1.3 checks it)."""

    id: int
    client_pk: int
    user_id: int
    scope: str
    redirect_uri: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewPair:
    """What is stored of a new access/refresh token pair: hashes and times only (RFC 6749
    §10.3, §10.4). Its client, user, family and scope come from what it is issued for."""

    access_token_hash: str
    refresh_token_hash: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token presented to a resource (RFC 6750), with its user, who is active."""

    user: UserProfile
    client_pk: int
    scope: str
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IntrospectedToken:
    """The pair holding an access or a refresh token, and whose it is (RFC 7662 §2.2);
    `is_access` says which of the two was presented. Nothing is filtered: the engine says
    what is active."""

    is_access: bool
    client_pk: int
    client_id: str
    user_id: int
    username: str
    user_is_active: bool
    scope: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime
    revoked_at: datetime | None


class ClientStore(Protocol):
    async def by_client_id(self, *, client_id: str) -> ClientRecord | None:
        """The client of this `client_id`, or None."""
        ...


class CodeStore(Protocol):
    async def create(
        self,
        *,
        code_hash: str,
        client_pk: int,
        user_id: int,
        scope: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
        created_at: datetime,
        expires_at: datetime,
    ) -> bool:
        """Store a code for the client; False (and nothing stored) when that client no
        longer exists."""
        ...


class TokenStore(Protocol):
    async def access_with_user(self, *, access_token_hash: str) -> AccessToken | None:
        """The token of this access-token hash with its user; None when unknown or when
        the user is not active. Revoked and expired tokens are returned: the engine says."""
        ...

    async def redeem_code_and_issue(
        self, *, code_hash: str, client_pk: int, now: datetime, family_id: str, pair: NewPair
    ) -> SpentCode | None:
        """Spend the code presented by client `client_pk` and, if the code is that
        client's, store `pair` for it (new `family_id`, the code's scope); the code as it
        was, or None when it could not be spent (unknown, used already, or the presenting
        client was deleted meanwhile), and nothing is stored then. The spent code keeps
        `family_id`, which `revoke_issued_from_code` revokes.

        The code stays spent whatever the engine finds wrong with it afterwards (expired,
        another client's, PKCE); the engine then `withdraw`s the pair. Of concurrent calls
        for one code exactly one gets it, and the pair is stored before any other call can
        see the code spent, so that `revoke_issued_from_code` finds it (RFC 6749 §4.1.2).
        """
        ...

    async def withdraw(self, *, user_id: int, family_id: str) -> None:
        """Delete the pair `redeem_code_and_issue` stored (for the code's user, in the new
        `family_id`) for a code that failed its checks: its tokens were never shown to
        anyone."""
        ...

    async def revoke_issued_from_code(self, *, code_hash: str, now: datetime) -> int:
        """RFC 6749 §4.1.2: a code presented again after it was spent revokes every live
        token issued from it, rotations included (its family); how many. 0 for an unknown
        code. A bounded number of statements however long the family grew."""
        ...

    async def rotate_and_issue(
        self,
        *,
        refresh_token_hash: str,
        client_pk: int,
        now: datetime,
        successor: NewPair,
        scope: Callable[[str], str] | None = None,
    ) -> str | None:
        """Spend a live refresh token of client `client_pk` (not expired, revoked or
        rotated; its client not deleted) and store `successor` in its family, for the same
        user; the successor's scope, or None when nothing could be spent.

        The spent pair is marked rotated and revoked at once, so its access token dies with
        it (RFC 9700 §4.14.2). The successor's scope is the spent one's, or `scope(spent)`
        when given (RFC 6749 §6: a narrower one); whatever `scope` raises leaves everything
        as it was and propagates. Of concurrent calls for one token exactly one spends it.
        """
        ...

    async def revoke_family(self, *, refresh_token_hash: str, client_pk: int, now: datetime) -> int:
        """RFC 9700 §4.14.2: a refresh token presented again after its rotation means two
        parties hold it: revoke every live token of its family; how many. 0 when the hash is
        not a rotated refresh token of this client. A bounded number of statements however
        long the family grew (10 000 rotations cost what one does)."""
        ...

    async def revoke(self, *, token_hash: str, client_pk: int, now: datetime) -> int:
        """RFC 7009 §2.1: revoke the live pair holding this access or refresh token if it is
        client `client_pk`'s; how many (0 or 1)."""
        ...

    async def for_introspection(self, *, token_hash: str) -> IntrospectedToken | None:
        """The pair holding this access or refresh token, whatever its state, or None."""
        ...


class ConsentStore(Protocol):
    """What a user approved for a client on the consent page, remembered: OpenID Connect
    Core §3.1.2.4 lets consent be established by other means than asking, such as an
    earlier approval."""

    async def granted_scope(self, *, user_id: int, client_pk: int) -> str | None:
        """The scope remembered for (user, client), or None."""
        ...

    async def remember(
        self, *, user_id: int, client_pk: int, scope: str, now: datetime
    ) -> str | None:
        """Add `scope` to what is remembered for (user, client): their `scope_union`, with
        the first approval's time kept. The scope now remembered; None (nothing stored) when
        the client no longer exists. Concurrent calls lose nothing: every one's scopes end
        up remembered."""
        ...


class OAuthStore(Protocol):
    """Everything the engine stores, by aggregate."""

    @property
    def clients(self) -> ClientStore: ...

    @property
    def codes(self) -> CodeStore: ...

    @property
    def tokens(self) -> TokenStore: ...

    @property
    def consents(self) -> ConsentStore: ...
