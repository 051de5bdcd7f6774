"""Who is calling the inference API: the resolved identity behind one API key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ApiKeyPrincipal:
    """What the gateway knows about a valid key after authentication (cached per key hash)."""

    key_id: uuid.UUID
    key_hash: str
    org_id: uuid.UUID
    user_id: uuid.UUID
    org_active: bool
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at
