"""Register, log in, log out, read and edit the profile, with FitTrackee's messages."""

from __future__ import annotations

import re
from typing import Any

from app import clock
from app.accounts.passwords import PasswordHasher
from app.accounts.profile import UserProfile
from app.accounts.user_tokens import UserClaims, UserTokenCodec
from app.db.repositories.users import DuplicateUser
from app.db.storage import Storage

# Matched whole (`fullmatch`): with `match` and `$`, "alice\n" would pass, `$` matching
# before a final newline.
USERNAME_RE = re.compile(r"[a-zA-Z0-9_]+")
# FitTrackee 0.7's e-mail rule (`is_valid_email`).
EMAIL_RE = re.compile(r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+")
MIN_USERNAME, MAX_USERNAME = 3, 30
MIN_PASSWORD, MAX_PASSWORD = 8, 1024
MAX_EMAIL = 255

POLICY_NOT_ACCEPTED = "sorry, you must agree privacy policy to register"
INVALID_CREDENTIALS = "invalid credentials"


class AccountError(Exception):
    """A refusal the API shows as `{"status": "error", "message": ...}`."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def taken_message(field: str) -> str:
    return f"sorry, that {field} is already taken"


def registration_problems(username: str, email: str, password: str) -> str:
    """FitTrackee's newline-separated validation message, empty when all is well.

    Every rule that fails adds its line, as FitTrackee does (`register_controls`).
    """
    problems = ""
    if not MIN_USERNAME <= len(username) <= MAX_USERNAME:
        problems += "username: 3 to 30 characters required\n"
    if not USERNAME_RE.fullmatch(username):
        problems += (
            'username: only alphanumeric characters and the underscore character "_" allowed\n'
        )
    if len(email) > MAX_EMAIL or not EMAIL_RE.fullmatch(email):
        problems += "email: valid email must be provided\n"
    if len(password) < MIN_PASSWORD:
        problems += "password: 8 characters required\n"
    elif len(password) > MAX_PASSWORD:
        problems += f"password: {MAX_PASSWORD} characters maximum\n"
    return problems


class Accounts:
    def __init__(self, storage: Storage, hasher: PasswordHasher, codec: UserTokenCodec) -> None:
        self._users = storage.users
        self._logouts = storage.revoked_user_tokens
        self._hasher = hasher
        self._codec = codec

    async def register(
        self, *, username: str, email: str, password: str, accepted_policy: bool
    ) -> int:
        """Create an account, active at once (there is no e-mail step here).

        Usernames and e-mails are unique regardless of case. FitTrackee answers a taken
        e-mail with a silent success because its accounts wait for an e-mail confirmation;
        here the account would be usable at once, so a taken e-mail is refused openly.
        """
        if not accepted_policy:
            raise AccountError(POLICY_NOT_ACCEPTED)
        email = email.strip().lower()
        problems = registration_problems(username, email, password)
        if problems:
            raise AccountError(problems)
        await self._refuse_taken(username, email)
        password_hash = await self._hasher.hash(password)
        try:
            return await self._users.create(
                username=username, email=email, password_hash=password_hash, now=clock.utcnow()
            )
        except DuplicateUser as exc:
            # Lost a race with a concurrent registration: say which field it took.
            await self._refuse_taken(username, email)
            raise AccountError(taken_message(exc.field)) from exc

    async def _refuse_taken(self, username: str, email: str) -> None:
        taken = await self._users.taken_field(username=username, email=email)
        if taken:
            raise AccountError(taken_message(taken))

    async def login(self, *, email: str, password: str) -> str:
        """A new user JWT (`POST /api/auth/login`); refused as `authenticate` refuses."""
        user_id = await self.authenticate(email=email, password=password)
        return self._codec.encode(user_id, clock.utcnow())

    async def authenticate(self, *, email: str, password: str) -> int:
        """The id of the active user with these credentials (the API's login, and the pages'
        which start a cookie session instead of minting a JWT); the same refusal, in about
        the same time, for an unknown e-mail, an inactive account and a wrong password."""
        found = await self._users.credentials_by_email(email=email.strip().lower())
        stored_hash = found.password_hash if found is not None else None
        # An over-long password can match nothing (registration refuses them), but is still
        # answered after one hash verification, never truncated.
        candidate = password if len(password) <= MAX_PASSWORD else ""
        ok = await self._hasher.verify(candidate, stored_hash) and candidate == password
        if not ok or found is None or not found.is_active:
            raise AccountError(INVALID_CREDENTIALS, 401)
        return found.id

    async def logout(self, claims: UserClaims) -> None:
        """The token stops working at once: its `jti` is recorded until it would expire.

        Entries whose token has expired anyway are purged with it, so the table holds only
        tokens that could still be presented.
        """
        await self._logouts.record_logout(
            jti=claims.jti, expires_at=claims.expires_at, now=clock.utcnow()
        )

    async def active_user(self, claims: UserClaims) -> UserProfile | None:
        """The profile behind a verified user JWT, unless the user is inactive or the JWT
        was logged out."""
        return await self._users.active_user(user_id=claims.user_id, jti=claims.jti)

    async def edit_profile(self, user_id: int, values: dict[str, Any]) -> UserProfile:
        """A field left out keeps its value; None clears it. One statement."""
        profile = await self._users.edit_profile(user_id=user_id, values=values)
        if profile is None:
            raise AccountError("user does not exist", 404)
        return profile
