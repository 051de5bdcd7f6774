from __future__ import annotations

import pytest
from pydantic import ValidationError

from ias_serve.protocol.health import HealthPublic


def test_health_round_trips_and_refuses_unknown_status() -> None:
    h = HealthPublic.model_validate({"status": "ok", "app": "gateway", "version": "0.1.0"})
    assert h.model_dump() == {"status": "ok", "app": "gateway", "version": "0.1.0"}
    with pytest.raises(ValidationError, match="status"):
        HealthPublic.model_validate({"status": "fine", "app": "gateway", "version": "0.1.0"})
