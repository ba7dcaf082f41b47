"""Refusals of app management, in FitTrackee's `{"status": ..., "message": ...}` terms.

Kept free of FastAPI: the router turns a `ClientError` into the API's error response.
"""

from __future__ import annotations

NOT_FOUND = "OAuth2 client not found"


class ClientError(Exception):
    """A refusal with the HTTP status and FitTrackee `status` word it is shown with."""

    status_code: int = 400
    status: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidClientMetadata(ClientError):
    """The create-app body is missing keys or holds a value we refuse (400)."""


class InvalidPage(ClientError):
    """A `page` we cannot serve (400 `invalid payload`)."""

    def __init__(self) -> None:
        super().__init__("invalid payload")


class ClientNotFound(ClientError):
    """No such app, or another user's app: the two are indistinguishable on purpose (404)."""

    status_code = 404
    status = "not found"

    def __init__(self) -> None:
        super().__init__(NOT_FOUND)
