"""ensure_usage_stream against a real NATS JetStream: create, no-op, update, refuse."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from ias_serve.errors import ConfigurationError
from ias_serve.queue.jetstream import ensure_usage_stream


async def test_creates_the_stream_with_file_storage_limits_and_a_duplicate_window(
    js: JetStreamContext, names: Callable[[], tuple[str, str]]
) -> None:
    stream, subject = names()
    info = await ensure_usage_stream(js, stream, subject)
    cfg = info.config
    assert cfg.subjects == [subject]
    assert (cfg.storage, cfg.retention, cfg.discard) == (
        StorageType.FILE,
        RetentionPolicy.LIMITS,
        DiscardPolicy.OLD,
    )
    assert cfg.duplicate_window == pytest.approx(20 * 60)
    assert cfg.max_age == pytest.approx(7 * 24 * 3600)
    assert cfg.max_bytes == -1

    again = await ensure_usage_stream(js, stream, subject)
    assert again.created == info.created and again.config == cfg


async def test_brings_an_existing_stream_to_the_configuration_and_keeps_its_other_subjects(
    js: JetStreamContext, names: Callable[[], tuple[str, str]]
) -> None:
    stream, subject = names()
    await js.add_stream(
        StreamConfig(name=stream, subjects=[f"{subject}.extra"], storage=StorageType.FILE, max_age=60)
    )
    info = await ensure_usage_stream(
        js, stream, subject, duplicate_window_s=30, max_age_s=3600, max_bytes=64 * 1024**2
    )
    assert sorted(info.config.subjects or []) == sorted([subject, f"{subject}.extra"])
    assert info.config.duplicate_window == pytest.approx(30)
    assert info.config.max_age == pytest.approx(3600)
    assert info.config.max_bytes == 64 * 1024**2


async def test_refuses_what_cannot_change_in_place_and_overlapping_subjects(
    js: JetStreamContext, names: Callable[[], tuple[str, str]]
) -> None:
    stream, subject = names()
    await js.add_stream(StreamConfig(name=stream, subjects=[subject], storage=StorageType.MEMORY))
    with pytest.raises(ConfigurationError, match="storage"):
        await ensure_usage_stream(js, stream, subject)

    other, _ = names()
    with pytest.raises(ConfigurationError, match=other):
        await ensure_usage_stream(js, other, subject)  # `subject` belongs to `stream`


async def test_replicas_ensuring_at_once_end_with_one_stream(
    js: JetStreamContext, names: Callable[[], tuple[str, str]]
) -> None:
    stream, subject = names()
    infos = await asyncio.gather(*(ensure_usage_stream(js, stream, subject) for _ in range(5)))
    assert {i.config.name for i in infos} == {stream}
    assert len({i.created for i in infos}) == 1
