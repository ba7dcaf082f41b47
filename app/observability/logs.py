"""The log configuration of every process: uvicorn's own loggers, the application's, the
migrations'; one JSON object per line (`LOG_FORMAT=json`) or plain text.

`logging_config(settings)` is a `logging.config.dictConfig` dictionary; the launcher hands it
to uvicorn (`log_config`), which applies it in the supervisor and in each worker. A record
logged while a request is served carries that request's id (`request_id`, from the
`RequestObserver`'s context variable), so an error line and the request's access line can
be matched. A traceback is one field (`exception`) of its line, never lines of its own.
"""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from typing import Any

import orjson

from app.config import Settings
from app.observability.access_log import timestamp

# The id of the request being served in this task (None outside a request).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record, from the request being served (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per record: `ts`, `level`, `logger`, `message`, `request_id` when
    there is one, and `exception` (the formatted traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line).decode()


def logging_config(settings: Settings) -> dict[str, Any]:
    """The dictConfig for uvicorn's `log_config`: one handler on standard output (the access
    log writes there too, so one stream holds everything, in order), used by the root logger
    and by uvicorn's loggers; uvicorn's own access log is off (the app writes its own)."""
    level = settings.log_level.upper()
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JSONFormatter"}
        if settings.log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "alembic": {"level": "INFO"},
            "sqlalchemy": {"level": "WARNING"},
        },
        "root": {"handlers": ["default"], "level": level},
    }


def configure_logging(settings: Settings) -> None:
    """Apply `logging_config` in this process (the launcher and the command line)."""
    logging.config.dictConfig(logging_config(settings))
