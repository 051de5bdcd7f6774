from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ias_serve.domain.principal import ApiKeyPrincipal


def test_expiry_is_inclusive_of_the_instant() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    p = ApiKeyPrincipal(uuid.uuid4(), "a" * 64, uuid.uuid4(), uuid.uuid4(), True, expires_at=now)
    assert p.expired(now) and not p.expired(now - timedelta(microseconds=1))
    forever = ApiKeyPrincipal(uuid.uuid4(), "b" * 64, uuid.uuid4(), uuid.uuid4(), True)
    assert not forever.expired(now + timedelta(days=10_000))
