"""FitTrackee's two date formats on the wire."""

from __future__ import annotations

from datetime import UTC, datetime

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def http_date(value: datetime) -> str:
    """`Sun, 29 Nov 2026 23:53:33 GMT` (a user's `created_at`): RFC 9110's IMF-fixdate, as
    `email.utils.format_datetime(value, usegmt=True)` writes it, at a fraction of its cost
    (it is on the profile's hot path)."""
    return _gmt(value, MONTHS[value.month - 1][:3])


def long_http_date(value: datetime) -> str:
    """`Mon, 30 November 2026 00:04:26 GMT` (a client's `issued_at`), locale-independent."""
    return _gmt(value, MONTHS[value.month - 1])


def _gmt(value: datetime, month: str) -> str:
    value = value.astimezone(UTC)
    return (
        f"{DAYS[value.weekday()]}, {value.day:02d} {month} {value.year:04d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} GMT"
    )
