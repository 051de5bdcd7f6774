"""Pydantic models of the wire formats, one module per API surface."""
