"""Metrics, request logs and request ids: what an operator sees of the running service."""

from app.observability.metrics import record_tokens_issued, record_tokens_revoked

__all__ = ["record_tokens_issued", "record_tokens_revoked"]
