"""New client credentials (RFC 6749 §2.2, §2.3.1): random alphanumerics, secret kept hashed."""

from __future__ import annotations

from dataclasses import dataclass

from app.oauth.secrets import (
    CLIENT_ID_LENGTH,
    CLIENT_SECRET_LENGTH,
    hash_secret,
    random_alphanumeric,
)


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """`client_secret` is shown to the user once, in the create response; only
    `client_secret_hash` is stored, so a database leak does not hand out working secrets."""

    client_id: str
    client_secret: str
    client_secret_hash: str


def new_client_credentials() -> ClientCredentials:
    """A 24-character client_id and a 48-character secret, as FitTrackee issues them.

    Both come from the `secrets` CSPRNG (RFC 6749 §10.10: credentials must not be guessable).
    """
    secret = random_alphanumeric(CLIENT_SECRET_LENGTH)
    return ClientCredentials(
        client_id=random_alphanumeric(CLIENT_ID_LENGTH),
        client_secret=secret,
        client_secret_hash=hash_secret(secret),
    )
