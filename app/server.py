"""`python -m app.server`: uvicorn serving the app, as `fittrackee-oauth2 serve` starts it
once its checks pass (`app.launcher`).

Host, port, workers, the trusted proxies (`FORWARDED_ALLOW_IPS`) and the log configuration
come from the settings; uvicorn's own access log is off, the app writes its own.
"""

from __future__ import annotations

import uvicorn

from app.config import Settings
from app.http_limits import HeaderLimitedHttpToolsProtocol
from app.observability.logs import logging_config

APP = "app.asgi:app"


def run(settings: Settings) -> None:
    uvicorn.run(
        APP,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="auto",  # uvloop when installed, as uvicorn[standard] does
        # httptools, with the request head capped at MAX_HEADER_BYTES (`app.http_limits`).
        http=HeaderLimitedHttpToolsProtocol,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        access_log=False,
        log_config=logging_config(settings),
        log_level=settings.log_level,
        server_header=False,
    )


if __name__ == "__main__":
    run(Settings.load())
