"""A NATS connection for a background publisher: connects lazily and forever, never fails.

``await ready()`` returns a JetStream context once the client is connected and ``prepare``
(e.g. :func:`~ias_serve.queue.jetstream.ensure_usage_stream`) has run since the last
(re)connect; until then it waits, however long NATS stays away. nats-py does the
reconnecting (``max_reconnect_attempts=-1``: it also retries the very first connect forever);
this class only watches it and logs each outage once instead of every attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from nats.aio.client import Client
from nats.errors import ConnectionClosedError, ConnectionReconnectingError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import APIError

from ias_serve.queue.backoff import Backoff

log = logging.getLogger(__name__)

Prepare = Callable[[JetStreamContext], Awaitable[object]]

_PING_INTERVAL_S: Final = 10
_MAX_OUTSTANDING_PINGS: Final = 3

# prepare() failures worth retrying (NATS not ready yet); anything else is logged and skipped.
_TRANSIENT = (APIError, NatsTimeoutError, TimeoutError, ConnectionClosedError, ConnectionReconnectingError)


class JetStreamConnection:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        prepare: Prepare | None = None,
        on_connected: Callable[[bool], None] | None = None,
        reconnect_time_wait_s: float = 1.0,
        connect_timeout_s: float = 2.0,
        request_timeout_s: float = 5.0,
        max_pending_acks: int = 4000,
        backoff: Backoff | None = None,
    ) -> None:
        self.url = url
        self._name = name
        self._prepare = prepare
        self._on_connected = on_connected or (lambda _: None)
        self._reconnect_time_wait_s = reconnect_time_wait_s
        self._connect_timeout_s = connect_timeout_s
        self._request_timeout_s = request_timeout_s
        self._max_pending_acks = max_pending_acks
        self._backoff = backoff or Backoff()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._prepared = False
        self._outage_logged = False
        self._closing = False

    @property
    def client(self) -> Client | None:
        """The current NATS client (None before the first connect, after close)."""
        return self._nc

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def invalidate(self) -> None:
        """Run ``prepare`` again before the next :meth:`ready` returns (e.g. stream vanished)."""
        self._prepared = False

    async def ready(self) -> JetStreamContext:
        """Connected and prepared JetStream context; waits as long as NATS is away."""
        while True:
            nc, js = self._nc, self._js
            if nc is None or nc.is_closed:
                await self._connect()
            elif not nc.is_connected or js is None:
                await asyncio.sleep(0.05)  # nats-py is reconnecting
            elif not self._prepared and self._prepare is not None:
                try:
                    await self._prepare(js)
                except _TRANSIENT as e:
                    log.warning("NATS %s: preparing failed (%r); retrying", self.url, e)
                    await self._backoff.sleep()
                    continue
                except Exception:  # a configuration problem: log it loudly, publish anyway
                    log.exception("NATS %s: preparing failed; going on without it", self.url)
                self._prepared = True
                self._backoff.reset()
            else:
                return js

    async def close(self) -> None:
        self._closing = True
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 5.0)
        self._on_connected(False)

    async def _connect(self) -> None:
        nc = Client()
        self._nc, self._js = nc, None
        try:
            await nc.connect(
                self.url,
                name=self._name,
                max_reconnect_attempts=-1,
                reconnect_time_wait=self._reconnect_time_wait_s,  # type: ignore[arg-type]
                connect_timeout=self._connect_timeout_s,  # type: ignore[arg-type]
                # a server that stops answering (not closing) counts as gone after ~30-40 s
                ping_interval=_PING_INTERVAL_S,
                max_outstanding_pings=_MAX_OUTSTANDING_PINGS,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
            )
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await nc.close()
            raise
        # Headroom over the caller's window: nats-py's slot of a cancelled ack future comes back
        # one loop iteration later, and a full semaphore would turn a cancel into an error.
        self._js = nc.jetstream(
            timeout=self._request_timeout_s, publish_async_max_pending=2 * self._max_pending_acks + 64
        )
        await self._on_reconnected()

    async def _on_error(self, e: Exception) -> None:
        if not self._outage_logged and not self._closing:  # nats-py reports every attempt
            self._outage_logged = True
            log.warning("NATS %s unreachable (%r); retrying in the background", self.url, e)

    async def _on_disconnected(self) -> None:
        self._on_connected(False)
        if not self._closing:
            log.warning("disconnected from NATS %s; reconnecting", self.url)

    async def _on_reconnected(self) -> None:
        self._outage_logged = False
        self._prepared = False  # the server may have come back without its store
        self._on_connected(True)
        log.info("connected to NATS %s", self.url)
