"""The JetStream stream of usage events (ARCHITECTURE §3.5): its configuration, kept in code.

:func:`ensure_usage_stream` creates the stream, or brings an existing one to the configuration
below; the gateway calls it at start (and :class:`~ias_serve.queue.publisher.UsagePublisher`
calls it on every connect, so a NATS that was down at gateway start, or lost its store, still
gets the stream). Idempotent and safe to run from many replicas at once.

Configuration and why:

* file storage, ``limits`` retention, ``discard: old``: the stream is the durable queue between
  the gateways and the recorder, and a replayable log (a new recorder, a rebuilt ClickHouse)
  until the limits age events out. Events are never refused at publish time because the
  stream is full (``discard: new`` with ``limits`` retention would refuse every event until
  old ones age out, even after the recorder has consumed them).
* ``max_age`` 7 days; ``max_bytes`` unlimited by default: a file stream *reserves* its
  ``max_bytes`` in the server's JetStream store at creation, and the creation fails
  ("insufficient storage resources available", err 10047) when the store is smaller. Measured
  here: with 10 GiB each, the sixth stream failed on a server whose store defaulted to 56.9 GB
  (75% of the free disk); a laptop with less free disk could not create even one. So the bound
  by default is the age and the server's store limit (a full store refuses publishes: the
  publisher's backlog shows it, nothing is dropped silently); set ``max_bytes`` to what the
  NATS volume holds to cap it (the oldest events then go first, recorded or not).
* ``duplicate_window`` 20 minutes: JetStream drops a message whose ``Nats-Msg-Id`` (the
  request id) it stored inside the window. A publish whose acknowledgement was lost is retried
  by the publisher, possibly after an outage; the window has to outlast the longest outage
  that should be de-duplicated here (longer ones still are, by the recorder's idempotent
  insert). The server keeps one map entry per message inside the window (about
  300 req/s x 1,200 s = 360k entries, tens of MB), so it is not unbounded either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import BadRequestError, NotFoundError, ServerError

from ias_serve.errors import ConfigurationError

log = logging.getLogger(__name__)

DEFAULT_STREAM: Final = "USAGE"
DEFAULT_SUBJECT: Final = "usage.v1"
DEFAULT_DUPLICATE_WINDOW_S: Final = 20 * 60.0
DEFAULT_MAX_AGE_S: Final = 7 * 24 * 3600.0
DEFAULT_MAX_BYTES: Final = -1

# JetStream error codes (nats-server/server/errors.json).
_ERR_STREAM_NOT_FOUND: Final = 10059
_ERR_STREAM_NAME_IN_USE: Final = 10058


@dataclass(frozen=True, slots=True)
class UsageStreamLimits:
    """Limits of the usage stream (see the module docstring for the defaults)."""

    duplicate_window_s: float = DEFAULT_DUPLICATE_WINDOW_S
    max_age_s: float = DEFAULT_MAX_AGE_S
    max_bytes: int = DEFAULT_MAX_BYTES
    """Bytes kept at most, reserved in the server's store (``-1``: no cap, no reservation)."""
    num_replicas: int = 1
    """JetStream replicas (3 in a NATS cluster in production)."""

    def __post_init__(self) -> None:
        if self.duplicate_window_s <= 0:
            raise ValueError("duplicate_window_s must be > 0")
        if self.max_age_s < self.duplicate_window_s:
            raise ValueError("max_age_s must be >= duplicate_window_s (JetStream refuses it otherwise)")
        if self.max_bytes == 0 or self.max_bytes < -1:
            raise ValueError("max_bytes must be > 0 or -1 (unlimited)")
        if not 1 <= self.num_replicas <= 5:
            raise ValueError("num_replicas must be between 1 and 5")


def usage_stream_config(
    stream: str = DEFAULT_STREAM,
    subject: str = DEFAULT_SUBJECT,
    limits: UsageStreamLimits | None = None,
    *,
    extra_subjects: tuple[str, ...] = (),
) -> StreamConfig:
    """The wanted :class:`StreamConfig` (pure; ``extra_subjects`` keeps subjects an existing
    stream already has)."""
    lim = limits or UsageStreamLimits()
    subjects = [subject, *(s for s in extra_subjects if s != subject)]
    return StreamConfig(
        name=stream,
        description="IAS usage events (one per inference request), consumed by the usage recorder",
        subjects=subjects,
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=lim.max_age_s,
        max_bytes=lim.max_bytes,
        duplicate_window=lim.duplicate_window_s,
        num_replicas=lim.num_replicas,
    )


def _differs(have: StreamConfig, want: StreamConfig) -> list[str]:
    """Fields of ``want`` that ``have`` does not match (durations compared to the ms)."""
    diff = []
    if set(want.subjects or ()) - set(have.subjects or ()):
        diff.append("subjects")
    for f in ("storage", "retention", "discard", "max_bytes", "num_replicas"):
        if getattr(have, f) != getattr(want, f):
            diff.append(f)
    for f in ("max_age", "duplicate_window"):
        if round((getattr(have, f) or 0) * 1000) != round((getattr(want, f) or 0) * 1000):
            diff.append(f)
    return diff


async def ensure_usage_stream(
    js: JetStreamContext,
    stream: str = DEFAULT_STREAM,
    subject: str = DEFAULT_SUBJECT,
    *,
    duplicate_window_s: float = DEFAULT_DUPLICATE_WINDOW_S,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
    num_replicas: int = 1,
) -> StreamInfo:
    """Create the usage stream, or update it to this configuration; return its info.

    Subjects an existing stream has besides ``subject`` are kept. A change JetStream cannot
    apply in place (storage type, retention policy) raises :class:`ConfigurationError` naming
    the fields; so does a subject that another stream already captures.
    """
    limits = UsageStreamLimits(duplicate_window_s, max_age_s, max_bytes, num_replicas)
    for _ in range(3):  # another replica may create the stream between our calls
        try:
            info = await js.stream_info(stream)
        except NotFoundError as e:
            if e.err_code not in (None, _ERR_STREAM_NOT_FOUND):
                raise
            want = usage_stream_config(stream, subject, limits)
            try:
                info = await js.add_stream(want)
            except (BadRequestError, ServerError) as e2:  # bad config, no room in the store
                if e2.err_code == _ERR_STREAM_NAME_IN_USE:
                    continue  # created concurrently with another config: compare and update
                raise ConfigurationError(
                    f"cannot create JetStream stream {stream!r}: {e2.description}"
                ) from e2
            log.info("created JetStream stream %s (subject %s)", stream, subject)
            return info
        want = usage_stream_config(stream, subject, limits, extra_subjects=tuple(info.config.subjects or ()))
        diff = _differs(info.config, want)
        if not diff:
            return info
        if {"storage", "retention"} & set(diff):
            raise ConfigurationError(
                f"JetStream stream {stream!r} exists with another {'/'.join(diff)}; storage and "
                f"retention cannot change in place: migrate or delete the stream"
            )
        try:
            info = await js.update_stream(want)
        except (BadRequestError, ServerError) as e:
            raise ConfigurationError(f"cannot update JetStream stream {stream!r}: {e.description}") from e
        log.info("updated JetStream stream %s: %s", stream, ", ".join(diff))
        return info
    raise ConfigurationError(f"JetStream stream {stream!r} keeps changing while it is being ensured")
