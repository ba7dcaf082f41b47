"""Users and logged-out user JWTs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from app.db.direct import prebuilt
from app.db.models import RevokedUserToken, User
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


# Built once: on the hot paths, building a statement costs more than running it.
ACTIVE_USER = prebuilt(
    select(*PROFILE_COLUMNS).where(
        User.id == bindparam("user_id"),
        User.is_active.is_(True),
        ~exists().where(RevokedUserToken.jti == bindparam("jti")),
    )
)


class DuplicateUser(Exception):
    """Username or e-mail already registered; `field` says which."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class UserRepository(Repository):
    async def create(self, *, username: str, email: str, password_hash: str, now: datetime) -> int:
        """Insert a user, active at once. Raises DuplicateUser (the caller's transaction is
        then unusable, so check `taken_field` first and let this guard the race)."""
        try:
            result = await self.conn.execute(
                insert(User)
                .values(
                    username=username,
                    email=email,
                    password_hash=password_hash,
                    created_at=now,
                    is_active=True,
                    accepted_policy_at=now,
                )
                .returning(User.id)
            )
        except IntegrityError as exc:
            field = "email" if "email" in str(exc.orig).lower() else "username"
            raise DuplicateUser(field) from exc
        return result.scalar_one()

    async def taken_field(self, username: str, email: str) -> str | None:
        """'username' or 'email' when either is already registered, ignoring case as
        FitTrackee does (e-mails are stored lower-cased, usernames as typed)."""
        lowered = username.lower()
        rows = (
            await self.conn.execute(
                select(func.lower(User.username).label("username"), User.email)
                .where((func.lower(User.username) == lowered) | (User.email == email.lower()))
                .limit(2)
            )
        ).all()
        if any(row.username == lowered for row in rows):
            return "username"
        return "email" if rows else None

    async def credentials_by_email(self, email: str) -> RowMapping | None:
        result = await self.conn.execute(
            select(User.id, User.password_hash, User.is_active).where(User.email == email)
        )
        return result.mappings().first()

    async def active_user(self, user_id: int, jti: str) -> RowMapping | None:
        """The profile of an active user whose JWT `jti` was not logged out: one query."""
        result = await self.conn.execute(ACTIVE_USER, {"user_id": user_id, "jti": jti})
        return result.mappings().first()

    async def profile(self, user_id: int) -> RowMapping | None:
        result = await self.conn.execute(select(*PROFILE_COLUMNS).where(User.id == user_id))
        return result.mappings().first()

    async def update_profile(self, user_id: int, values: dict[str, Any]) -> None:
        await self.conn.execute(update(User).where(User.id == user_id).values(**values))


class RevokedUserTokenRepository(Repository):
    async def revoke(self, jti: str, expires_at: datetime) -> None:
        """Record a logged-out JWT in one statement; the same `jti` twice (two logouts racing)
        is not an error."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        await self.conn.execute(
            dialect.insert(RevokedUserToken)
            .values(jti=jti, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=[RevokedUserToken.jti])
        )

    async def delete_expired(self, now: datetime) -> int:
        """Forget logged-out tokens that have expired anyway (they are refused as expired)."""
        result = await self.conn.execute(
            delete(RevokedUserToken).where(RevokedUserToken.expires_at < now)
        )
        return result.rowcount
