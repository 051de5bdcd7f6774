"""Health endpoint wire format (every app's `GET <prefix>/health`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]
    app: str
    version: str
