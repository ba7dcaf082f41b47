"""Users and logged-out user JWTs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, bindparam, case, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql

from app.accounts.profile import UserProfile
from app.db.errors import ConstraintViolation
from app.db.models import RevokedUserToken, User
from app.db.queries import Query
from app.db.repositories import Repository

PROFILE_COLUMNS = (
    User.id,
    User.username,
    User.email,
    User.created_at,
    User.is_active,
    User.accepted_policy_at,
    User.first_name,
    User.last_name,
    User.bio,
    User.location,
)
# Fields of the profile its user may change (`edit_profile`).
EDITABLE = ("first_name", "last_name", "bio", "location")


@dataclass(frozen=True, slots=True)
class Credentials:
    id: int
    password_hash: str
    is_active: bool


class DuplicateUser(Exception):
    """Username or e-mail already registered; `field` says which."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


ACTIVE_USER = Query(
    select(*PROFILE_COLUMNS).where(
        User.id == bindparam("user_id"),
        User.is_active.is_(True),
        ~exists().where(RevokedUserToken.jti == bindparam("jti")),
    ),
    UserProfile,
)
CREATE = Query(
    insert(User)
    .values(
        username=bindparam("p_username"),
        email=bindparam("p_email"),
        password_hash=bindparam("p_password_hash"),
        created_at=bindparam("p_now"),
        is_active=True,
        accepted_policy_at=bindparam("p_now"),
    )
    .returning(User.id)
)
TAKEN = Query(
    select(func.lower(User.username).label("username"), User.email)
    .where((func.lower(User.username) == bindparam("lowered")) | (User.email == bindparam("email")))
    .limit(2)
)
CREDENTIALS = Query(
    select(User.id, User.password_hash, User.is_active).where(User.email == bindparam("email")),
    Credentials,
)
PROFILE = Query(select(*PROFILE_COLUMNS).where(User.id == bindparam("user_id")), UserProfile)


def _new_or_kept(name: str) -> Any:
    """`CASE WHEN :set_<name> THEN :p_<name> ELSE <name> END`: one statement, whichever
    fields are sent."""
    column = User.__table__.c[name]
    given = bindparam(f"set_{name}", type_=Boolean)
    return case((given, bindparam(f"p_{name}", type_=column.type)), else_=column)


EDIT_PROFILE = Query(
    update(User)
    .where(User.id == bindparam("user_id"))
    .values({name: _new_or_kept(name) for name in EDITABLE})
    .returning(*PROFILE_COLUMNS),
    UserProfile,
)
# The same statement on both databases: SQLite has `ON CONFLICT DO NOTHING` too.
RECORD_LOGOUT = Query(
    postgresql.insert(RevokedUserToken)
    .values(jti=bindparam("p_jti"), expires_at=bindparam("p_expires_at"))
    .on_conflict_do_nothing(index_elements=[RevokedUserToken.jti])
)
DELETE_EXPIRED_LOGOUTS = Query(
    delete(RevokedUserToken).where(RevokedUserToken.expires_at < bindparam("now"))
)


class UserRepository(Repository):
    async def create(self, *, username: str, email: str, password_hash: str, now: datetime) -> int:
        """Insert a user, active at once, in one statement; its id. DuplicateUser when the
        username (regardless of case) or the e-mail is taken: check `taken_field` first and
        let this guard the race."""
        params = {
            "p_username": username,
            "p_email": email,
            "p_password_hash": password_hash,
            "p_now": now,
        }
        try:
            return await self._db.scalar(CREATE, params)
        except ConstraintViolation as exc:
            field = "email" if "email" in str(exc).lower() else "username"
            raise DuplicateUser(field) from exc

    async def taken_field(self, *, username: str, email: str) -> str | None:
        """'username' or 'email' when either is already registered, ignoring case as
        FitTrackee does (e-mails are stored lower-cased, usernames as typed)."""
        lowered = username.lower()
        rows = await self._db.rows(TAKEN, {"lowered": lowered, "email": email.lower()})
        if any(name == lowered for name, _ in rows):
            return "username"
        return "email" if rows else None

    async def credentials_by_email(self, *, email: str) -> Credentials | None:
        return await self._db.first(CREDENTIALS, {"email": email})

    async def active_user(self, *, user_id: int, jti: str) -> UserProfile | None:
        """The profile of an active user whose JWT `jti` was not logged out: one query."""
        return await self._db.first(ACTIVE_USER, {"user_id": user_id, "jti": jti})

    async def profile(self, *, user_id: int) -> UserProfile | None:
        return await self._db.first(PROFILE, {"user_id": user_id})

    async def edit_profile(self, *, user_id: int, values: dict[str, Any]) -> UserProfile | None:
        """Set the given editable fields (None clears one), keep the others; the profile
        after, or None for no such user. One statement."""
        unknown = set(values) - set(EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        params: dict[str, Any] = {"user_id": user_id}
        for name in EDITABLE:
            params[f"set_{name}"] = name in values
            params[f"p_{name}"] = values.get(name)
        return await self._db.first(EDIT_PROFILE, params)


class RevokedUserTokenRepository(Repository):
    async def record_logout(self, *, jti: str, expires_at: datetime, now: datetime) -> None:
        """Record a logged-out JWT until it would expire anyway, and forget those that have
        (they are refused as expired): one transaction. The same `jti` twice (two logouts
        racing) is not an error."""
        async with self._db.transaction() as tx:
            await tx.rowcount(RECORD_LOGOUT, {"p_jti": jti, "p_expires_at": expires_at})
            await tx.rowcount(DELETE_EXPIRED_LOGOUTS, {"now": now})
