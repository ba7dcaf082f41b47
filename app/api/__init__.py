"""HTTP layer: FastAPI routers and their pydantic schemas. Thin: parse, call, serialize."""
