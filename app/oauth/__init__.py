"""The OAuth2 protocol engine. No FastAPI here: plain data in, results or `OAuthError` out."""
