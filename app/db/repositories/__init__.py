"""Repositories: the only code that builds SQL, one module per aggregate.

Every public method is one unit of work on the `Database` it was given: the method decides
whether that is one statement (autocommit; on PostgreSQL a data-modifying CTE when several
tables change) or a transaction, and its callers never choose. Statements are module-level
`Query` objects (`app.db.queries`), built once; results are dataclasses, never rows.
"""

from __future__ import annotations

from app.db.engine import Database


class Repository:
    def __init__(self, db: Database) -> None:
        self._db = db
