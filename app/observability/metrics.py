"""Prometheus metrics (prometheus-client): requests per route template, tokens, 429s.

Labels take bounded values only: the matched route's template (never the raw path), a known
method or `OTHER`, the status code. The engine calls `record_tokens_issued` and
`record_tokens_revoked`; it needs nothing else from here and no web framework.

With several workers the launcher sets `PROMETHEUS_MULTIPROC_DIR` to an emptied directory
before they start: prometheus-client then keeps the values in files there and `/metrics` adds
up every worker's (process and GC figures per worker: `app.observability.multiprocess`).
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from app.observability.multiprocess import forget_dead_workers, refresh_own_figures

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from receiving a request to sending the last byte of its response.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
TOKENS_ISSUED = Counter(
    "tokens_issued",
    "OAuth2 access/refresh token pairs issued, by grant type (RFC 6749 §4.1.3, §6).",
    ["grant_type"],
    registry=REGISTRY,
)
TOKENS_REVOKED = Counter(
    "tokens_revoked",
    "OAuth2 token pairs revoked, by reason.",
    ["reason"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "rate_limited_requests",
    "Requests refused with 429 by a brute-force limit, by rule.",
    ["rule"],
    registry=REGISTRY,
)
# CPU, memory, file descriptors and GC of this process (left out of the multiprocess
# exposition, where they would describe whichever worker answered the scrape).
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"

_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def record_tokens_issued(grant_type: str, count: int = 1) -> None:
    """Call once per issued pair: `authorization_code` or `refresh_token`."""
    TOKENS_ISSUED.labels(grant_type).inc(count)


def record_tokens_revoked(reason: str, count: int = 1) -> None:
    """Call with how many pairs one action revoked, and why: `revocation_endpoint` (RFC 7009),
    `rotation` (RFC 6749 §6), `refresh_reuse` (RFC 9700 §4.14.2), `code_replay`
    (RFC 6749 §4.1.2), `client_revoke` (the app's revoke endpoint), `user_revoke` (a user
    taking an app's access back)."""
    if count:
        TOKENS_REVOKED.labels(reason).inc(count)


def record_rate_limited(rule: str) -> None:
    RATE_LIMITED.labels(rule).inc()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count and time one request. The labelled children are cached: a dictionary lookup
    instead of prometheus-client's locked label resolution on every request."""
    if method not in KNOWN_METHODS:
        method = "OTHER"
    key = (method, route, status)
    children = _children.get(key)
    if children is None:
        children = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_DURATION.labels(method, route),
        )
        _children[key] = children
    children[0].inc()
    children[1].observe(seconds)


def exposition(multiprocess_dir: str = "") -> tuple[bytes, str]:
    """The text format and its content type; every worker's values in multiprocess mode."""
    if multiprocess_dir:
        forget_dead_workers(multiprocess_dir)
        refresh_own_figures()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
