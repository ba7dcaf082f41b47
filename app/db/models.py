"""Tables. Secrets (client secrets, codes, tokens) are stored only as SHA-256 digests: hex text,
and the bytes themselves on the token table (`HexDigest`), the one that grows by millions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.db.types import HexDigest, JSONDocument, UTCDateTime

HASH = String(64)
# SQLite reuses the largest integer id once its row is deleted unless the table is
# AUTOINCREMENT; a stale id (`/api/oauth/apps/<id>/by_id`) must never name a newer row.
# PostgreSQL's sequences never go back, so this changes nothing there.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    accepted_policy_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    last_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    bio: Mapped[str | None] = mapped_column(String(200), nullable=True)
    location: Mapped[str | None] = mapped_column(String(80), nullable=True)

    # Usernames are unique regardless of case, as registration checks: the index settles
    # two registrations racing with "Bob" and "bob", and serves that case-blind lookup.
    __table_args__ = (
        Index("uq_users_username_lower", func.lower(username), unique=True),
        NEVER_REUSE_IDS,
    )


class RevokedUserToken(Base):
    """A logged-out user JWT, by its `jti`, kept until the JWT would have expired anyway."""

    __tablename__ = "revoked_user_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OAuth2Client(Base):
    __tablename__ = "oauth2_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(48), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(HASH)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    website: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    redirect_uris: Mapped[list[str]] = mapped_column(JSONDocument)
    scope: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_oauth2_clients_user_id_id", "user_id", "id"), NEVER_REUSE_IDS)


class AuthorizationCode(Base):
    """A code is marked `used_at` when redeemed (not deleted), so a replay can be recognised,
    and keeps the `family_id` of the pairs it issued, which a replay revokes."""

    __tablename__ = "oauth2_codes"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(HASH, unique=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth2_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_challenge_method: Mapped[str | None] = mapped_column(String(10), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    family_id: Mapped[str | None] = mapped_column(HexDigest, nullable=True)


class Token(Base):
    """An access token and its refresh token, issued together and revoked together.

    `family_id` is shared by every pair rotated from one authorization code (RFC 9700
    §4.14.2), and the code keeps it (`AuthorizationCode.family_id`). `rotated_at` is set when
    the refresh token was spent on a rotation, which revokes the pair in the same statement
    and inserts its successor: so of a family only the newest row (highest `id`) can be live,
    and revoking a family is revoking that one row, whatever the family's length.

    Every index here is paid on each rotation's INSERT, so there are as few as the lookups
    need: the two hashes (the hot paths), `(user_id, family_id, id)` for a family's newest row
    and a user's grants (and the users' ON DELETE CASCADE), `(client_id, user_id)` for an
    app's tokens (its cascade, revoking them, one user's). None on the expiry times: `clean`
    walks the table by `id` in bounded batches. The UPDATE of a rotation changes no indexed
    column, so PostgreSQL can make it a HOT update (no index entries at all). The hashes and
    the family id are stored as bytes (`HexDigest`): 32 and 16 instead of 64 and 32 hex
    characters, in the row and in the indexes.
    """

    __tablename__ = "oauth2_tokens"
    __table_args__ = (
        Index("ix_oauth2_tokens_user_id_family_id_id", "user_id", "family_id", "id"),
        Index("ix_oauth2_tokens_client_id_user_id", "client_id", "user_id"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    access_token_hash: Mapped[str] = mapped_column(HexDigest, unique=True)
    refresh_token_hash: Mapped[str] = mapped_column(HexDigest, unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth2_clients.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[str] = mapped_column(HexDigest)
    scope: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Consent(Base):
    """What a user approved for an app on the consent page, remembered so that a later
    request for no more than this skips the page (OpenID Connect Core §3.1.2.4's remembered
    consent). `scope` is canonical; `created_at` is the first approval, `updated_at` the
    last one that added a scope."""

    __tablename__ = "oauth2_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[int] = mapped_column(
        ForeignKey("oauth2_clients.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # The unique pair serves the lookups by user (its first column); the index on client_id
    # serves the cascade when an app is deleted.
    __table_args__ = (
        UniqueConstraint("user_id", "client_id", name="uq_oauth2_consents_user_id_client_id"),
        NEVER_REUSE_IDS,
    )


class WebSession(Base):
    """A browser's session on the server-rendered pages: the cookie holds a random secret,
    this row only its SHA-256 (`secret_hash`), so a copy of the table opens no session.
    Deleting the row ends the session for every worker at once (log out). It ends by itself
    `WEB_SESSION_IDLE_TIMEOUT` seconds after `last_seen_at`, and at `expires_at` whatever."""

    __tablename__ = "web_sessions"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(HASH, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
