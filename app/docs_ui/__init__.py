"""The API documentation pages (Swagger UI at `/docs`, ReDoc at `/redoc`), served offline."""
