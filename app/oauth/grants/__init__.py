"""The two grants the token endpoint serves, one module each (RFC 6749 §4.1.3, §6)."""
