"""The ASGI application for uvicorn: `uvicorn app.asgi:app`.

Settings the server cannot start with end the process with one line on stderr and uvicorn's
start-up failure status (3), which also stops a multi-worker uvicorn instead of restarting
its workers in a loop.
"""

import sys

from pydantic import ValidationError

from app.config import ConfigurationError
from app.main import create_app

STARTUP_FAILURE = 3


def _one_line(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        text = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in error["loc"]).upper()
        problems.append(f"{field}: {text}" if field else text)
    return "; ".join(problems)


try:
    app = create_app()
except (ConfigurationError, ValidationError) as exc:
    reason = _one_line(exc) if isinstance(exc, ValidationError) else str(exc)
    print(f"fittrackee-oauth2: {reason}", file=sys.stderr)
    sys.exit(STARTUP_FAILURE)
