"""FitTrackee-compatible OAuth2 authorization server."""

# The server's own version: the one place it is written (pyproject.toml reads it from here).
__version__ = "0.3.0"
