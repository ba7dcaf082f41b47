"""Register, log in, log out, read and edit the profile, with FitTrackee's messages."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import RowMapping

from app import clock
from app.accounts.passwords import PasswordHasher
from app.accounts.user_tokens import UserClaims, UserTokenCodec
from app.db.engine import Database
from app.db.repositories.users import DuplicateUser

USERNAME_RE = re.compile(r"^[a-zA-Z0-9_]+$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 255
MAX_PASSWORD = 1024


class AccountError(Exception):
    """A refusal the API shows as `{"status": "error", "message": ...}`."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def registration_problems(username: str, email: str, password: str) -> str:
    """FitTrackee's newline-separated validation message, empty when all is well."""
    problems = ""
    if not 3 <= len(username) <= 30:
        problems += "username: 3 to 30 characters required\n"
    elif not USERNAME_RE.match(username):
        problems += (
            'username: only alphanumeric characters and the underscore character "_" allowed\n'
        )
    if len(email) > MAX_EMAIL or not EMAIL_RE.match(email):
        problems += "email: valid email must be provided\n"
    if len(password) < 8:
        problems += "password: 8 characters required\n"
    elif len(password) > MAX_PASSWORD:
        problems += f"password: {MAX_PASSWORD} characters maximum\n"
    return problems


class Accounts:
    def __init__(self, db: Database, hasher: PasswordHasher, codec: UserTokenCodec) -> None:
        self._db = db
        self._hasher = hasher
        self._codec = codec

    async def register(
        self, *, username: str, email: str, password: str, accepted_policy: bool
    ) -> None:
        email = email.strip().lower()
        if not accepted_policy:
            raise AccountError("sorry, you must agree privacy policy to register")
        problems = registration_problems(username, email, password)
        if problems:
            raise AccountError(problems)
        async with self._db.read() as storage:
            taken = await storage.users.taken_field(username, email)
        if taken:
            raise AccountError(f"sorry, that {taken} is already taken")
        password_hash = await self._hasher.hash(password)
        try:
            async with self._db.transaction() as storage:
                await storage.users.create(
                    username=username, email=email, password_hash=password_hash, now=clock.utcnow()
                )
        except DuplicateUser as exc:
            raise AccountError("sorry, that username is already taken") from exc

    async def login(self, *, email: str, password: str) -> str:
        """A new user JWT; the same answer for an unknown e-mail and a wrong password."""
        async with self._db.read() as storage:
            row = await storage.users.credentials_by_email(email.strip().lower())
        stored_hash = row["password_hash"] if row is not None else None
        ok = await self._hasher.verify(password[:MAX_PASSWORD], stored_hash)
        if not ok or row is None or not row["is_active"]:
            raise AccountError("invalid credentials", 401)
        return self._codec.encode(row["id"], clock.utcnow())

    async def logout(self, claims: UserClaims) -> None:
        """The token stops working at once: its `jti` is recorded until it would expire."""
        async with self._db.transaction() as storage:
            await storage.revoked_user_tokens.revoke(claims.jti, claims.expires_at)

    async def edit_profile(self, user_id: int, values: dict[str, Any]) -> RowMapping:
        async with self._db.transaction() as storage:
            if values:
                await storage.users.update_profile(user_id, values)
            profile = await storage.users.profile(user_id)
        if profile is None:
            raise AccountError("user does not exist", 404)
        return profile
