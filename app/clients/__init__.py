"""App (OAuth2 client) management for the first-party client: metadata validation, credential
generation and the service functions the `/api/oauth/apps` routers call. No FastAPI here."""
