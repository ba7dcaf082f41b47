"""Random credentials and their stored form: SHA-256 hex, compared in constant time.

These values are long random strings, so a fast hash is enough (no guessable input to
stretch); a plain hash also lets a token be found by an index lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

ALPHANUMERIC = string.ascii_letters + string.digits

CLIENT_ID_LENGTH = 24
CLIENT_SECRET_LENGTH = 48
CODE_LENGTH = 48
ACCESS_TOKEN_LENGTH = 42
REFRESH_TOKEN_LENGTH = 48


def random_alphanumeric(length: int) -> str:
    """`length` characters drawn uniformly from [A-Za-z0-9] with `secrets`.

    Random bytes below 248 (= 4 x 62) map to a character by `% 62` without bias; the rest are
    dropped. One call to the OS for the whole string instead of one per character.
    """
    out = ""
    while len(out) < length:
        out += "".join(ALPHANUMERIC[b % 62] for b in secrets.token_bytes(length + 8) if b < 248)
    return out[:length]


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def secret_matches(value: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(value), stored_hash)
