"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-30 01:53:43.146710
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revoked_user_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_index("ix_revoked_user_tokens_expires_at", "revoked_user_tokens", ["expires_at"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=30), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("accepted_policy_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_name", sa.String(length=80), nullable=True),
        sa.Column("last_name", sa.String(length=80), nullable=True),
        sa.Column("bio", sa.String(length=200), nullable=True),
        sa.Column("location", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "oauth2_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=48), nullable=False),
        sa.Column("client_secret_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("website", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    op.create_index("ix_oauth2_clients_user_id_id", "oauth2_clients", ["user_id", "id"])

    op.create_table(
        "oauth2_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2048), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("code_challenge_method", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oauth2_clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index("ix_oauth2_codes_client_id", "oauth2_codes", ["client_id"])
    op.create_index("ix_oauth2_codes_expires_at", "oauth2_codes", ["expires_at"])
    op.create_index("ix_oauth2_codes_user_id", "oauth2_codes", ["user_id"])

    op.create_table(
        "oauth2_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("access_token_hash", sa.String(length=64), nullable=False),
        sa.Column("refresh_token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("family_id", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oauth2_clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["code_id"], ["oauth2_codes.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("access_token_hash"),
        sa.UniqueConstraint("refresh_token_hash"),
    )
    op.create_index("ix_oauth2_tokens_access_expires_at", "oauth2_tokens", ["access_expires_at"])
    op.create_index("ix_oauth2_tokens_client_id", "oauth2_tokens", ["client_id"])
    op.create_index("ix_oauth2_tokens_code_id", "oauth2_tokens", ["code_id"])
    op.create_index("ix_oauth2_tokens_family_id", "oauth2_tokens", ["family_id"])
    op.create_index("ix_oauth2_tokens_refresh_expires_at", "oauth2_tokens", ["refresh_expires_at"])
    op.create_index("ix_oauth2_tokens_user_id", "oauth2_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_oauth2_tokens_user_id", table_name="oauth2_tokens")
    op.drop_index("ix_oauth2_tokens_refresh_expires_at", table_name="oauth2_tokens")
    op.drop_index("ix_oauth2_tokens_family_id", table_name="oauth2_tokens")
    op.drop_index("ix_oauth2_tokens_code_id", table_name="oauth2_tokens")
    op.drop_index("ix_oauth2_tokens_client_id", table_name="oauth2_tokens")
    op.drop_index("ix_oauth2_tokens_access_expires_at", table_name="oauth2_tokens")

    op.drop_table("oauth2_tokens")
    op.drop_index("ix_oauth2_codes_user_id", table_name="oauth2_codes")
    op.drop_index("ix_oauth2_codes_expires_at", table_name="oauth2_codes")
    op.drop_index("ix_oauth2_codes_client_id", table_name="oauth2_codes")

    op.drop_table("oauth2_codes")
    op.drop_index("ix_oauth2_clients_user_id_id", table_name="oauth2_clients")

    op.drop_table("oauth2_clients")
    op.drop_table("users")
    op.drop_index("ix_revoked_user_tokens_expires_at", table_name="revoked_user_tokens")

    op.drop_table("revoked_user_tokens")
