"""Audit log: ``GET /api/org/{id}/audit_log`` and ``GET /api/audit_log`` (read only).

Newest first, cursor-paged. Rows are never changed or deleted (the database refuses it);
the payload is the request of the write with secrets replaced by ``"[redacted]"``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from ias_serve.protocol.management.resource_base import NEXT_CURSOR_DOC, PublicModel


class AuditEntryPublic(PublicModel):
    id: int = Field(description="Increasing row number.")
    ts: datetime = Field(description="When the write committed (its transaction's start).")
    org_id: uuid.UUID | None = Field(description="The organisation concerned; null for global changes.")
    user_id: uuid.UUID | None = Field(description="Who performed the action (null: the system).")
    user_email: str | None = Field(default=None, description="Their e-mail, while the user exists.")
    action_type: str = Field(examples=["key_created"])
    payload: dict[str, Any] = Field(
        examples=[{"name": "ci-pipeline", "key_id": "5f0c…", "prefix": "ias-AbCdEfGh", "expires_at": None}]
    )


class AuditLogPublic(PublicModel):
    data: list[AuditEntryPublic]
    count: int = Field(description="Rows matching the filters, over all pages.")
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR_DOC)
