"""Pydantic schemas of requests and responses, shown in the OpenAPI docs."""
