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

from ias_serve.cache.rate_limit import RateLimitSet
from ias_serve.domain.admission import EngineOutcome, OutputPolicy, charged_prompt, output_bound, reservation
from ias_serve.domain.model_mappings import BackendKind
from ias_serve.domain.principal import ApiKeyPrincipal
from ias_serve.errors import (
    BadRequest,
    BudgetExceeded,
    IASError,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
)
from ias_serve.protocol.openai import Op, PromptParts, parse_request, prompt_parts, with_max_tokens
from ias_serve.protocol.sse import UsageScanner, sse
from ias_serve.protocol.usage import UsageEvent, UsageStatus, new_usage_id
from ias_serve.services.catalog import ModelCatalog, ModelRoute
from ias_serve.services.engines.base import EngineClient
from ias_serve.services.engines.remote import RemoteEngineClient
from ias_serve.services.gateway_metrics import GatewayMetrics
from ias_serve.services.tokens import PromptCounter

access_log = logging.getLogger("ias.access")
log = logging.getLogger(__name__)


class Authenticator(Protocol):
    async def authenticate(self, authorization: str | None) -> ApiKeyPrincipal: ...

    def record_use(self, key_id: Any) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Budgets(Protocol):
    async def reserve(
        self,
        org_id: Any,
        tokens: int,
        *,
        rate: RateLimitSet | None = None,
        key_id: Any = None,
        member: str = "",
    ) -> Any: ...

    async def check(
        self, org_id: Any, tokens: int, *, rate: RateLimitSet | None = None, key_id: Any = None
    ) -> None: ...

    def settle_nowait(self, reservation: Any, actual_tokens: int) -> Any: ...

    async def drain(self) -> None: ...


class Publisher(Protocol):
    def publish(self, event: UsageEvent) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class GatewayLimits:
    max_body_bytes: int = 4 * 1024 * 1024
    default_max_tokens: int = 1024  # forwarded and reserved when a request names no max_tokens
    max_output_tokens: int = 32_768  # a larger max_tokens is clamped to this
    max_batch_prompts: int = 128  # prompts of one /v1/completions request
    max_embedding_inputs: int = 2048  # inputs of one /v1/embeddings request
    non_text_part_tokens: int = 1024  # estimate of one image/audio/file part
    inline_count_chars: int = 4096  # longer prompts are counted off the event loop

    @property
    def output(self) -> OutputPolicy:
        return OutputPolicy(self.default_max_tokens, self.max_output_tokens)


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
    headers: dict[str, str]


@dataclass
class Answered:
    """A whole (non-streamed) answer and its extra headers (``x-ratelimit-*``)."""

    body: dict[str, Any]
    headers: dict[str, str]


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
        self.limits = limits or GatewayLimits()
        self.output_policy = self.limits.output  # raises at start-up on inconsistent bounds
        self.counter = PromptCounter(
            count_tokens,
            inline_chars=self.limits.inline_count_chars,
            non_text_part_tokens=self.limits.non_text_part_tokens,
        )

    async def start(self) -> None:
        await self.auth.start()
        await self.publisher.start()

    async def stop(self) -> None:
        await self.drain()
        await self.auth.stop()
        await self.publisher.close()
        await self.engines.aclose()
        self.counter.close()

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
    ) -> Answered | Streamed:
        t0 = time.perf_counter()
        started = datetime.now(UTC)
        req, body = parse_request(op, raw, max_bytes=self.limits.max_body_bytes)
        parts = prompt_parts(op, req)
        self._check_batch(op, parts)
        route = await self.catalog.resolve(req.model, principal.org_id)
        engine = self.engines.client(route)
        out, sequences = 0, 1
        if op != "embeddings":
            out = output_bound(req.max_output_tokens, self.output_policy)
            sequences = max(req.n, getattr(req, "best_of", None) or 1)
            body = with_max_tokens(op, body, out)  # the engine can never generate more than reserved
        usage_id = new_usage_id()
        rate = RateLimitSet.of(principal.rate_limits)
        try:
            prompt_estimate, res = await self._admit(principal, parts, out, sequences, rate, usage_id)
        except IASError as e:
            if isinstance(e, RateLimited):
                self.metrics.rate_limit_rejections.labels(req.model, e.openai_type).inc()
            elif isinstance(e, BudgetExceeded):
                self.metrics.budget_rejections.labels(req.model).inc()
            self._access(op, principal, req.model, e.status, 0, 0, t0, None)
            raise
        ctx = _Call(op, principal, req.model, usage_id, request_id, started, t0, res, prompt_estimate, route)
        headers = res.rate_state.headers() if hasattr(res, "rate_state") else {}
        stream = op != "embeddings" and req.stream
        if not stream:
            try:
                resp = await engine.call(op, body)
            except BaseException as e:
                self._finish(
                    ctx,
                    UsageStatus.ERROR if not _cancelled(e) else UsageStatus.CANCELLED,
                    charged_prompt(_outcome(e), None, prompt_estimate),
                    0,
                    _status_of(e),
                )
                raise
            usage = resp.get("usage") or {}
            prompt = usage.get("prompt_tokens")
            self._finish(
                ctx,
                UsageStatus.OK,
                prompt_estimate if prompt is None else int(prompt),
                int(usage.get("completion_tokens", 0)),
                200,
            )
            return Answered(resp, headers)
        body = {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}
        agen = engine.stream(op, body).__aiter__()
        try:
            first = await agen.__anext__()
        except BaseException as e:
            self._finish(
                ctx,
                UsageStatus.ERROR if not _cancelled(e) else UsageStatus.CANCELLED,
                charged_prompt(_outcome(e), None, prompt_estimate),
                0,
                _status_of(e),
            )
            raise
        ctx.ttft = time.perf_counter() - t0
        return Streamed(self._relay(ctx, first, agen, keep_usage=req.include_usage), headers)

    async def _admit(
        self,
        principal: ApiKeyPrincipal,
        parts: PromptParts,
        out: int,
        sequences: int,
        rate: RateLimitSet,
        usage_id: str,
    ) -> tuple[int, Any]:
        """Count the prompt and reserve budget and rate limits: (prompt estimate, reservation).

        A large prompt is first checked cheaply against the budget and the rate limits with a
        lower bound of its cost (its output bound and one token of prompt; the tokenizer has
        not run yet), so a key whose budget or rate is spent costs no tokenizer time; then it
        is counted off the event loop."""
        org, key = principal.org_id, principal.key_id
        if self.counter.is_large(parts):
            floor = reservation(
                self.counter.fixed(parts) + 1, prompts=parts.prompts, sequences=sequences, max_tokens=out
            )
            await self.budgets.check(org, floor, rate=rate, key_id=key)
        prompt = await self.counter.count(parts)
        need = reservation(prompt, prompts=parts.prompts, sequences=sequences, max_tokens=out)
        return prompt, await self.budgets.reserve(org, need, rate=rate, key_id=key, member=usage_id)

    def _check_batch(self, op: Op, parts: PromptParts) -> None:
        if op == "completions" and parts.prompts > self.limits.max_batch_prompts:
            raise BadRequest(
                f"prompt: {parts.prompts} prompts in one request; at most {self.limits.max_batch_prompts}",
                param="prompt",
                code="invalid_request",
            )
        if op == "embeddings" and parts.prompts > self.limits.max_embedding_inputs:
            raise BadRequest(
                f"input: {parts.prompts} inputs in one request; at most {self.limits.max_embedding_inputs}",
                param="input",
                code="invalid_request",
            )

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
            prompt, completion = scan.tokens()  # the engine worked on it: its prompt is charged
            self._finish(
                ctx,
                status,
                charged_prompt(EngineOutcome.WORKED, prompt, ctx.prompt_estimate),
                completion,
                http_status,
            )

    # --- accounting -------------------------------------------------------------------------
    def _finish(
        self, ctx: _Call, status: UsageStatus, prompt: int, completion: int, http_status: int
    ) -> None:
        """Settle the reservation and publish the usage event, off the response path."""
        latency = time.perf_counter() - ctx.t0
        self._access(
            ctx.op, ctx.principal, ctx.model, http_status, prompt, completion, ctx.t0, ctx.ttft, ctx.usage_id
        )
        self.metrics.observe(
            ctx.model, str(ctx.principal.org_id), status.value, latency, ctx.ttft, prompt, completion
        )
        event = UsageEvent(
            request_id=ctx.usage_id,
            client_request_id=ctx.request_id,
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
        usage_id: str | None = None,
    ) -> None:
        access_log.info(
            "request",
            extra={
                "op": op,
                "usage_id": usage_id,  # the metered event's id; request_id is the client's
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
    usage_id: str  # the server's: the usage event's idempotency key
    request_id: str  # the client's X-Request-ID (or the generated one): correlation only
    started: datetime
    t0: float
    reservation: Any
    prompt_estimate: int
    route: ModelRoute
    ttft: float | None = None


def _cancelled(e: BaseException) -> bool:
    return isinstance(e, asyncio.CancelledError)


def _outcome(e: BaseException) -> EngineOutcome:
    """How far a request that raised got with the engine: refused as invalid (4xx), unreachable
    or overloaded (503) → not taken; anything else (engine failure, cancellation) → worked."""
    if isinstance(e, IASError) and (e.status < 500 or e.status == 503):
        return EngineOutcome.NOT_TAKEN
    return EngineOutcome.WORKED


def _status_of(e: BaseException) -> int:
    return e.status if isinstance(e, IASError) else 499 if isinstance(e, asyncio.CancelledError) else 500
