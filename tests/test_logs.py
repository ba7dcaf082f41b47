"""Log lines: JSON (or text) for uvicorn's loggers and the application's, each with the id of
the request it was logged in, a traceback as one field."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.observability.logs import JSONFormatter, RequestIdFilter, logging_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the `app.test` logger writes, through the launcher's filter and formatter."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("app.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)


def records(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_record_is_one_json_object_with_the_traceback_as_a_field(json_lines):
    logger = logging.getLogger("app.test")
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        logger.exception("it failed: %s", "badly")
    [line] = json_lines.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "error"
    assert record["logger"] == "app.test"
    assert record["message"] == "it failed: badly"
    assert "request_id" not in record  # logged outside any request
    assert record["exception"].startswith("Traceback (most recent call last)")
    assert "ValueError: broken\nacross lines" in record["exception"]


async def test_records_logged_while_serving_a_request_carry_its_id(settings: Settings, json_lines):
    application = create_app(settings.model_copy(update={"access_log": False}))

    async def noisy() -> dict[str, str]:
        logging.getLogger("app.test").warning("inside the request")
        return {"status": "success"}

    application.add_api_route("/noisy", noisy)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        first = await http.get("/noisy", headers={"X-Request-ID": "edge-1"})
        second = await http.get("/noisy")
    await application.state.services.db.dispose()
    ids = [record["request_id"] for record in records(json_lines)]
    assert ids == ["edge-1", second.headers["x-request-id"]]
    assert first.headers["x-request-id"] == "edge-1"


LOGGING_CHILD = """
import logging, sys
import logging.config
from app.config import Settings
from app.observability.logs import logging_config
logging.config.dictConfig(logging_config(Settings(log_format=sys.argv[1])))
logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
logging.getLogger("app.ratelimit").warning("redis unreachable")
logging.getLogger("uvicorn.access").info("must not appear: the app logs its own requests")
logging.getLogger("alembic.runtime.migration").info("Running upgrade  -> 0001")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
"""


def run_logging_child(log_format: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", LOGGING_CHILD, log_format],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.splitlines()


def test_the_configuration_makes_every_line_json_uvicorns_included():
    lines = run_logging_child("json")
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    assert [(r["logger"], r["level"]) for r in parsed] == [
        ("uvicorn.error", "info"),
        ("app.ratelimit", "warning"),
        ("alembic.runtime.migration", "info"),
        ("uvicorn.error", "error"),
    ]
    assert parsed[0]["message"] == "Started server process [42]"
    assert "ZeroDivisionError" in parsed[3]["exception"]


def test_text_format_stays_available():
    lines = run_logging_child("text")
    assert "INFO uvicorn.error Started server process [42]" in lines[0]
    assert "WARNING app.ratelimit redis unreachable" in lines[1]
    assert not lines[0].startswith("{")
    assert any(line.startswith("ZeroDivisionError") for line in lines)


def test_the_level_setting_is_applied():
    config = logging_config(Settings(log_level="warning"))
    assert config["root"]["level"] == "WARNING"
    assert config["loggers"]["uvicorn"]["level"] == "WARNING"
