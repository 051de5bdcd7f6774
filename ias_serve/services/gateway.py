"""The inference gateway use case (ARCHITECTURE §3): authenticate, authorise, reserve budget,
call the engine, stream, settle, meter. Plain class; HTTP lives in api/gateway.py, Ray in
deployments/gateway.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp

from ias_serve.domain.model_mappings import BackendKind
from ias_serve.domain.principal import ApiKeyPrincipal
from ias_serve.errors import IASError, PermissionDenied, ServiceUnavailable
from ias_serve.protocol.openai import Op, message_text, parse_request
from ias_serve.protocol.sse import UsageScanner, sse
from ias_serve.protocol.usage import UsageEvent, UsageStatus
from ias_serve.services.catalog import ModelCatalog, ModelRoute
from ias_serve.services.engines.base import EngineClient
from ias_serve.services.engines.remote import RemoteEngineClient
from ias_serve.services.gateway_metrics import GatewayMetrics

access_log = logging.getLogger("ias.access")
log = logging.getLogger(__name__)


class Authenticator(Protocol):
    async def authenticate(self, authorization: str | None) -> ApiKeyPrincipal: ...

    def record_use(self, key_id: Any) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Budgets(Protocol):
    async def reserve(self, org_id: Any, tokens: int) -> Any: ...

    def settle_nowait(self, reservation: Any, actual_tokens: int) -> Any: ...

    async def drain(self) -> None: ...


class Publisher(Protocol):
    def publish(self, event: UsageEvent) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class GatewayLimits:
    max_body_bytes: int = 4 * 1024 * 1024
    default_max_tokens: int = 1024  # reserved when a request names no max_tokens


class Engines:
    """Model route → engine client: Serve deployments by name, remote URLs over one HTTP pool."""

    def __init__(self, serve: Mapping[str, EngineClient], *, connect_timeout_s: float = 5.0) -> None:
        self.serve = dict(serve)
        self.connect_timeout_s = connect_timeout_s
        self._session: aiohttp.ClientSession | None = None  # made on first use, inside the loop
        self._remote: dict[str, RemoteEngineClient] = {}

    def client(self, route: ModelRoute) -> EngineClient:
        if route.kind is BackendKind.REMOTE_URL:
            remote = self._remote.get(route.target)
            if remote is None:
                if self._session is None:
                    self._session = aiohttp.ClientSession(
                        timeout=aiohttp.ClientTimeout(total=None, connect=self.connect_timeout_s),
                        connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=60),
                    )
                remote = self._remote[route.target] = RemoteEngineClient(route.target, self._session)
            return remote
        engine = self.serve.get(route.target)
        if engine is None:
            raise ServiceUnavailable(
                f"model '{route.name}' is mapped to engine '{route.target}', which is not deployed"
            )
        return engine

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


@dataclass
class Streamed:
    """A streaming answer: the first SSE text is already in hand (errors came before it)."""

    body: AsyncIterator[str]


class GatewayService:
    def __init__(
        self,
        *,
        authenticator: Authenticator,
        budgets: Budgets,
        catalog: ModelCatalog,
        engines: Engines,
        publisher: Publisher,
        metrics: GatewayMetrics,
        count_tokens: Callable[[str], int],
        limits: GatewayLimits | None = None,
    ) -> None:
        self.auth = authenticator
        self.budgets = budgets
        self.catalog = catalog
        self.engines = engines
        self.publisher = publisher
        self.metrics = metrics
        self.count_tokens = count_tokens
        self.limits = limits or GatewayLimits()

    async def start(self) -> None:
        await self.auth.start()
        await self.publisher.start()

    async def stop(self) -> None:
        await self.drain()
        await self.auth.stop()
        await self.publisher.close()
        await self.engines.aclose()

    # --- entry points -----------------------------------------------------------------------
    async def principal(self, authorization: str | None) -> ApiKeyPrincipal:
        try:
            principal = await self.auth.authenticate(authorization)
        except IASError as e:
            self.metrics.auth_failures.labels(e.code).inc()
            raise
        if not principal.org_active:
            self.metrics.auth_failures.labels("org_disabled").inc()
            raise PermissionDenied("this API key's organisation is disabled", code="org_disabled")
        self.auth.record_use(principal.key_id)
        return principal

    async def models(self, principal: ApiKeyPrincipal) -> dict[str, Any]:
        routes = await self.catalog.for_org(principal.org_id)
        return {
            "object": "list",
            "data": [
                {"id": r.name, "object": "model", "created": r.created, "owned_by": "ias"} for r in routes
            ],
        }

    async def handle(
        self, op: Op, principal: ApiKeyPrincipal, raw: bytes, request_id: str
    ) -> dict[str, Any] | Streamed:
        t0 = time.perf_counter()
        started = datetime.now(UTC)
        req, body = parse_request(op, raw, max_bytes=self.limits.max_body_bytes)
        route = await self.catalog.resolve(req.model, principal.org_id)
        engine = self.engines.client(route)
        prompt_estimate, reserve = self._reserve_estimate(op, req)
        try:
            reservation = await self.budgets.reserve(principal.org_id, reserve)
        except IASError as e:
            if e.status == 429:
                self.metrics.budget_rejections.labels(req.model).inc()
            self._access(op, principal, req.model, e.status, 0, 0, t0, None)
            raise
        ctx = _Call(op, principal, req.model, request_id, started, t0, reservation, prompt_estimate, route)
        stream = op != "embeddings" and req.stream
        if not stream:
            try:
                resp = await engine.call(op, body)
            except BaseException as e:
                self._finish(ctx, UsageStatus.ERROR, 0, 0, _status_of(e))
                raise
            usage = resp.get("usage") or {}
            self._finish(
                ctx,
                UsageStatus.OK,
                int(usage.get("prompt_tokens", 0)),
                int(usage.get("completion_tokens", 0)),
                200,
            )
            return resp
        body = {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}
        agen = engine.stream(op, body).__aiter__()
        try:
            first = await agen.__anext__()
        except BaseException as e:
            self._finish(ctx, UsageStatus.ERROR, 0, 0, _status_of(e))
            raise
        ctx.ttft = time.perf_counter() - t0
        return Streamed(self._relay(ctx, first, agen, keep_usage=req.include_usage))

    # --- streaming --------------------------------------------------------------------------
    async def _relay(
        self, ctx: _Call, first: str, agen: AsyncIterator[str], *, keep_usage: bool
    ) -> AsyncIterator[str]:
        scan = UsageScanner(keep_usage)
        status, http_status = UsageStatus.CANCELLED, 499
        try:
            out = scan.feed(first)
            if scan.finished:  # the whole answer: a hang-up after [DONE] is no cancellation
                status, http_status = UsageStatus.OK, 200
            yield out
            async for text in agen:
                out = scan.feed(text)
                if scan.finished:
                    status, http_status = UsageStatus.OK, 200
                if out:
                    yield out
            status, http_status = UsageStatus.OK, 200
        except asyncio.CancelledError:
            raise
        except IASError as e:  # the engine failed mid-stream: tell the client in-band, then end
            status, http_status = UsageStatus.ERROR, e.status
            yield sse(e.openai_body()) + "data: [DONE]\n\n"
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                try:
                    await asyncio.shield(aclose())
                except BaseException:
                    pass
            prompt, completion = scan.tokens()
            self._finish(
                ctx, status, ctx.prompt_estimate if prompt is None else prompt, completion, http_status
            )

    # --- accounting -------------------------------------------------------------------------
    def _reserve_estimate(self, op: Op, req: Any) -> tuple[int, int]:
        """(prompt tokens as counted here, tokens to reserve: prompt + the most it may generate)."""
        if op == "chat":
            prompt = 3 + sum(4 + self.count_tokens(message_text(m.content)) for m in req.messages)
        elif op == "completions":
            prompt = _prompt_tokens(req.prompt, self.count_tokens)
        else:
            prompt = _prompt_tokens(req.input, self.count_tokens)
            return prompt, max(1, prompt)
        out = req.max_output_tokens or self.limits.default_max_tokens
        return prompt, prompt + out * req.n

    def _finish(
        self, ctx: _Call, status: UsageStatus, prompt: int, completion: int, http_status: int
    ) -> None:
        """Settle the reservation and publish the usage event, off the response path."""
        latency = time.perf_counter() - ctx.t0
        self._access(ctx.op, ctx.principal, ctx.model, http_status, prompt, completion, ctx.t0, ctx.ttft)
        self.metrics.observe(
            ctx.model, str(ctx.principal.org_id), status.value, latency, ctx.ttft, prompt, completion
        )
        event = UsageEvent(
            request_id=ctx.request_id,
            ts=ctx.started,
            org_id=ctx.principal.org_id,
            user_id=ctx.principal.user_id,
            key_id=ctx.principal.key_id,
            model=ctx.model,
            input_tokens=prompt,
            output_tokens=completion,
            latency_ms=int(latency * 1000),
            ttft_ms=None if ctx.ttft is None else int(ctx.ttft * 1000),
            status=status,
            price_input=ctx.route.price_input,
            price_output=ctx.route.price_output,
        )
        # both return at once: the budget adjustment and the publish run in the background
        self.budgets.settle_nowait(ctx.reservation, prompt + completion)
        self.publisher.publish(event)

    async def drain(self) -> None:
        """Wait for pending settlements (shutdown, tests)."""
        await self.budgets.drain()

    def _access(
        self,
        op: str,
        p: ApiKeyPrincipal,
        model: str,
        status: int,
        tin: int,
        tout: int,
        t0: float,
        ttft: float | None,
    ) -> None:
        access_log.info(
            "request",
            extra={
                "op": op,
                "org_id": str(p.org_id),
                "key_id": str(p.key_id),
                "model": model,
                "status": status,
                "input_tokens": tin,
                "output_tokens": tout,
                "latency_ms": round((time.perf_counter() - t0) * 1000, 2),
                "ttft_ms": None if ttft is None else round(ttft * 1000, 2),
            },
        )


@dataclass
class _Call:
    op: Op
    principal: ApiKeyPrincipal
    model: str
    request_id: str
    started: datetime
    t0: float
    reservation: Any
    prompt_estimate: int
    route: ModelRoute
    ttft: float | None = None


def _status_of(e: BaseException) -> int:
    return e.status if isinstance(e, IASError) else 499 if isinstance(e, asyncio.CancelledError) else 500


def _prompt_tokens(value: Any, count: Callable[[str], int]) -> int:
    if isinstance(value, str):
        return count(value)
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return len(value)
    if isinstance(value, list):
        return sum(count(v) if isinstance(v, str) else len(v) for v in value)
    return 0
