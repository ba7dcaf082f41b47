"""The OAuth2 protocol engine. No FastAPI and no SQL here: plain data in, results or
`OAuthError` out, and storage reached only through the ports it declares (`ports.py`)."""
