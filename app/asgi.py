"""The ASGI application for uvicorn: `uvicorn app.asgi:app`.

Settings the service cannot start with stop it here with their one-line reason, not a trace.
"""

import sys

from app.config import ConfigurationError
from app.main import create_app

try:
    app = create_app()
except ConfigurationError as exc:
    sys.exit(f"configuration error: {exc}")
