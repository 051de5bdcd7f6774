from __future__ import annotations

import pytest

from ias_serve.stack.probes import mask_url


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("redis://:secret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("http://default:p%40ss@ch:8123/ias?x=1", "http://default:***@ch:8123/ias?x=1"),
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("chdb:///var/lib/ias/ch", "chdb:///var/lib/ias/ch"),
    ],
)
def test_mask_url_hides_only_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked
