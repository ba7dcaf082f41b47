"""Authorization codes (RFC 6749 §4.1.2), stored hashed."""

from __future__ import annotations

from app.db.repositories import Repository


class CodeRepository(Repository):
    pass
