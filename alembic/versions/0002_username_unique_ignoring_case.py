"""usernames unique regardless of case

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_users_username_lower", "users", [sa.func.lower(sa.column("username"))], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_users_username_lower", table_name="users")
