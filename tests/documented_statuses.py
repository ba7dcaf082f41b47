"""A pytest plugin: every status the suite saw an endpoint answer is in `/openapi.json`.

The app counts each answer in `http_requests_total{method, route, status}` (route = the
matched route's template). At the end of the session the counts of this process's apps are
read back, and every (method, route, status) whose operation is in the OpenAPI document must
have that status among the operation's documented responses (or a `default`). Requests to
operations not in the document (assets, ad hoc test routes, a method a path does not take)
are not checked here; the fuzz run (`make fuzz`) checks the rest against a real server.
"""

from __future__ import annotations

import re
import tempfile
from typing import Any

import pytest

from app.config import Settings
from app.main import create_app
from app.observability.metrics import REGISTRY, UNMATCHED
from tests.helpers import TEST_SECRET_KEY

CONVERTER = re.compile(r"\{(\w+):\w+\}")
_undocumented: list[str] = []


def answered() -> set[tuple[str, str, str]]:
    """(method, route template, status) of every request this process's apps answered."""
    seen = set()
    for family in REGISTRY.collect():
        if family.name != "http_requests":
            continue
        for sample in family.samples:
            if sample.name == "http_requests_total" and sample.value > 0:
                labels = sample.labels
                seen.add((labels["method"].lower(), labels["route"], labels["status"]))
    return seen


def document() -> dict[str, Any]:
    """The app's OpenAPI document (building the app opens no connection)."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            app_env="test",
            database_url=f"sqlite+aiosqlite:///{folder}/unused.db",
            secret_key=TEST_SECRET_KEY,
        )
        return create_app(settings).openapi()


def undocumented(seen: set[tuple[str, str, str]], openapi: dict[str, Any]) -> list[str]:
    missing = []
    paths = openapi["paths"]
    for method, route, status in sorted(seen):
        if route == UNMATCHED:
            continue
        operation = paths.get(CONVERTER.sub(r"{\1}", route), {}).get(method)
        if operation is None:
            continue
        responses = operation.get("responses", {})
        if status not in responses and "default" not in responses:
            missing.append(f"{method.upper()} {route} answered {status}")
    return missing


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    seen = answered()
    if not seen:
        return
    _undocumented[:] = undocumented(seen, document())
    if _undocumented and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _undocumented:
        terminalreporter.section("statuses missing from /openapi.json", red=True)
        for line in _undocumented:
            terminalreporter.line(line)
