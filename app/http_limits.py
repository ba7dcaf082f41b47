"""A cap on the size of a request's head (request line and headers), for uvicorn's httptools
server (`fittrackee-oauth2 serve` uses it; with uvicorn itself,
`--http app.http_limits:HeaderLimitedHttpToolsProtocol`).

uvicorn offers no such limit with httptools (its `--h11-max-incomplete-event-size` is for
h11 only), and httptools keeps every header it parses: an 8 MB header was held in memory and
handed to the app. This protocol counts the bytes that arrive while a request's head is still
incomplete, and past `MAX_HEADER_BYTES` answers 431 (RFC 6585 §5) in the app's JSON shape and
closes the connection, before the app is called and before more is buffered: a connection
holds at most the cap plus one read, even for one header that never ends. (A middleware
could answer the same 431, but only after uvicorn had parsed and kept the whole head, which
is the memory this is about.)
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
        self._in_head = True  # the connection's first request starts with its first byte
        self._head_bytes = 0
        self._refused = False

    def data_received(self, data: bytes) -> None:
        """Count what arrives while a request's head is incomplete, after the parser has
        seen it: httptools gathers a header's value until its end, so counting the parsed
        headers alone would let one endless header grow without bound. A connection holds
        at most the cap plus one read."""
        if self._refused:
            return
        super().data_received(data)  # may end the head (`on_headers_complete`)
        if self._in_head and not self._refused:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._refuse()

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        """A head that arrived whole within one read is measured here, as parsed."""
        self._in_head = False
        size = len(self.url) + sum(len(n) + len(v) + HEADER_OVERHEAD for n, v in self.headers)
        if size > self.max_header_bytes:
            self._refuse()
        else:
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()

    def _refuse(self) -> None:
        """Answer 431 once, in the app's JSON shape for that path, and close."""
        self._refused = True
        path = self.url.split(b"?", 1)[0].decode("latin-1")
        response = error_response(path, HEADERS_TOO_LARGE, 431, headers={"Connection": "close"})
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in response.raw_headers]
        self.transport.write(b"".join(head) + b"\r\n" + bytes(response.body))
        self.transport.close()
        log.info("refused a request head over %d bytes (431)", self.max_header_bytes)
