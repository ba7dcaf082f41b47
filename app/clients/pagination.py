"""FitTrackee's page arithmetic and pagination block (Flask-SQLAlchemy's `paginate`)."""

from __future__ import annotations

from dataclasses import dataclass

from app.clients.errors import InvalidPage

PER_PAGE = 5
# Client ids are 32-bit integers, so no page past this one can ever hold a row; refusing it
# also keeps `(page - 1) * per_page` far inside a 64-bit OFFSET.
MAX_PAGE = 2**31 - 1


def page_number(page: int | None) -> int:
    """Absent or below 1 means page 1, as in FitTrackee; past MAX_PAGE is refused."""
    if page is None or page < 1:
        return 1
    if page > MAX_PAGE:
        raise InvalidPage
    return page


@dataclass(frozen=True, slots=True)
class Pagination:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return -(-self.total // self.per_page)

    def as_dict(self) -> dict[str, int | bool]:
        """The wire block; a page past the end echoes its number with `has_prev` true."""
        pages = self.pages
        return {
            "has_next": self.page < pages,
            "has_prev": self.page > 1,
            "page": self.page,
            "pages": pages,
            "total": self.total,
        }
