"""User accounts: passwords, the first-party JWT, register/login/logout. No FastAPI here."""
