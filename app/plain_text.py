"""The one rule for text that people type and others read: names, e-mails, bios, app
names and descriptions.

Refused: control characters (Unicode category Cc: NUL, which PostgreSQL text cannot hold,
escape sequences, ...), format characters (Cf: bidi overrides such as U+202E, zero-width
characters such as U+200B, isolates such as U+2066, which make a name shown on the consent page
read as something else), lone surrogates (Cs, which cannot be encoded) and the line and
paragraph separators (Zl, Zp). Multi-line fields may keep newlines and tabs.
"""

from __future__ import annotations

import unicodedata

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
MULTILINE_ALLOWED = frozenset("\n\r\t")


def refused_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character `text` may not hold, or None."""
    if text.isprintable():  # the common case, at C speed: nothing of those categories
        return None
    for character in text:
        if multiline and character in MULTILINE_ALLOWED:
            continue
        if unicodedata.category(character) in REFUSED_CATEGORIES:
            return character
    return None


def check_single_line(text: str) -> str:
    """A pydantic validator (AfterValidator) for one-line fields."""
    if refused_character(text) is not None:
        raise ValueError("control or format characters are not allowed")
    return text


def check_multiline(text: str) -> str:
    """A pydantic validator for fields that may span lines."""
    if refused_character(text, multiline=True) is not None:
        raise ValueError("control or format characters are not allowed")
    return text
