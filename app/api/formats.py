"""FitTrackee's two date formats on the wire."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

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
    """`Sun, 29 Nov 2026 23:53:33 GMT` (a user's `created_at`)."""
    return format_datetime(value, usegmt=True)


def long_http_date(value: datetime) -> str:
    """`Mon, 30 November 2026 00:04:26 GMT` (a client's `issued_at`), locale-independent."""
    return (
        f"{DAYS[value.weekday()]}, {value.day:02d} {MONTHS[value.month - 1]} {value.year} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} GMT"
    )
