"""A cap on the size of a request's head (request line and headers), for uvicorn's httptools
server: `uvicorn --http app.http_limits:HeaderLimitedHttpToolsProtocol` (`make run` passes
it).

uvicorn offers no such limit with httptools (its `--h11-max-incomplete-event-size` is for
h11 only), and httptools keeps every header it parses: an 8 MB header was held in memory and
handed to the app. This protocol counts the bytes of the request line and headers as the
parser reports them, and past `MAX_HEADER_BYTES` answers 431 (RFC 6585 §5) in the app's JSON
shape and closes the connection, before the app is called and before more is buffered: a
connection holds at most the cap plus one read. (A middleware could answer the same 431, but
only after uvicorn had parsed and kept the whole head, which is the memory this is about.)
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.api.errors import HEADERS_TOO_LARGE, error_response
from app.config import get_settings

log = logging.getLogger(__name__)

# What each header costs beyond its name and value: ": " and CRLF.
HEADER_OVERHEAD = 4


class HeaderLimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_header_bytes = get_settings().max_header_bytes
        self._head_bytes = 0
        self._refused = False

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if self._count(len(url)):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._count(len(name) + len(value) + HEADER_OVERHEAD):
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if not self._refused:
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()

    def _count(self, size: int) -> bool:
        """Whether the head is still within the cap; past it, answer 431 once and close."""
        if self._refused:
            return False
        self._head_bytes += size
        if self._head_bytes <= self.max_header_bytes:
            return True
        self._refused = True
        path = self.url.split(b"?", 1)[0].decode("latin-1")
        response = error_response(path, HEADERS_TOO_LARGE, 431, headers={"Connection": "close"})
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in response.raw_headers]
        self.transport.write(b"".join(head) + b"\r\n" + bytes(response.body))
        self.transport.close()
        log.info("refused a request head over %d bytes (431)", self.max_header_bytes)
        return False
