"""A real gateway for component tests: the FastAPI app + GatewayService on uvicorn in a thread,
against the session's real PostgreSQL, Valkey and NATS; echo-model in process; remote models
on a fake OpenAI-compatible upstream (tests/support/fake_upstream.py) on its own port."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession

from ias_serve.api.apps import create_gateway_app
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.db.repositories import (
    ApiKeyRepository,
    BudgetRepository,
    MembershipRepository,
    ModelMappingRepository,
    OrgRepository,
    SessionRepository,
    UserRepository,
)
from ias_serve.domain.keys import generate_api_key
from ias_serve.domain.roles import OrgRole, Status
from ias_serve.domain.tokens import TokenKind, hash_token, new_token
from ias_serve.services.engines.base import LocalEngineClient
from ias_serve.services.engines.echo import EchoEngine
from ias_serve.services.gateway_factory import build_gateway_service
from ias_serve.settings import Settings
from ias_serve.stack.embedded import free_port
from tests.support.fake_upstream import create_app as create_upstream


@contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[uvicorn.Server]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=20)


async def new_session(db: AsyncSession, user_id: uuid.UUID, *, ttl: timedelta = timedelta(hours=1)) -> str:
    """A management session token for the user (as the login API will issue)."""
    token = new_token(TokenKind.SESSION)
    await SessionRepository(db).create(
        user_id=user_id, token_hash=hash_token(token), expires_at=datetime.now(UTC) + ttl
    )
    return token


async def session_token(database_url: str, user_id: uuid.UUID) -> str:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            return await new_session(s, user_id)
    finally:
        await engine.dispose()


@dataclass
class Tenant:
    org_id: uuid.UUID
    user_id: uuid.UUID
    key_id: uuid.UUID
    key: str


async def make_tenant(database_url: str, *, limit: int | None = None, active: bool = True) -> Tenant:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            org = await OrgRepository(s).create(
                f"org-{uuid.uuid4().hex[:8]}", status=Status.ACTIVE if active else Status.DISABLED
            )
            user = await UserRepository(s).create(f"u-{uuid.uuid4().hex[:8]}@example.com", name="Dev")
            await MembershipRepository(s).add(user.id, org.id, OrgRole.ORG_USER)
            issued = generate_api_key()
            key = await ApiKeyRepository(s).create(
                key_hash=issued.key_hash, prefix=issued.prefix, user_id=user.id, org_id=org.id, name="k"
            )
            if limit is not None:
                await BudgetRepository(s).set_limit(org.id, limit, updated_by=None)
        return Tenant(org.id, user.id, key.id, issued.key)
    finally:
        await engine.dispose()


async def add_model(
    database_url: str,
    name: str,
    kind: str,
    target: str,
    allowed: list[uuid.UUID] | None = None,
    *,
    prices: tuple[str, str] = ("0", "0"),
) -> None:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as s, s.begin():
            await ModelMappingRepository(s).create(
                name,
                kind,
                target,
                allowed_org_ids=allowed,
                price_per_million_input=prices[0],
                price_per_million_output=prices[1],
            )
    finally:
        await engine.dispose()


@dataclass
class Gateway:
    base_url: str
    upstream_url: str
    upstream: Any
    stream: str
    subject: str
    settings: Settings
    registry: CollectorRegistry
    slow_url: str  # 40 tokens, 50 ms apart, the stream kept open 2 s after [DONE]: for disconnects
    slow: Any
    failing_url: str  # answers 500


def gateway_settings(database_url: str, redis_url: str, nats_url: str, **overrides: Any) -> Settings:
    """Settings for a test gateway, with a usage stream and subject of its own."""
    tag = uuid.uuid4().hex[:8]
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        nats_url=nats_url,
        usage_stream=f"USAGE_{tag}",
        usage_subject=f"usage.{tag}",
        **overrides,
    )


@contextmanager
def running_gateway(database_url: str, redis_url: str, nats_url: str, **overrides: Any) -> Iterator[Gateway]:
    settings = gateway_settings(database_url, redis_url, nats_url, model_cache_ttl_s=0.2, **overrides)
    registry = CollectorRegistry()
    service = build_gateway_service(
        settings, {"echo-model": LocalEngineClient(EchoEngine())}, registry=registry
    )
    upstream_app = create_upstream(tokens=16, token_delay_s=0.0)
    slow_app = create_upstream(tokens=40, token_delay_s=0.05, linger_after_done_s=2.0)
    failing_app = create_upstream(fail_status=500)
    ports = [free_port() for _ in range(4)]
    with (
        serve_in_thread(upstream_app, ports[1]),
        serve_in_thread(slow_app, ports[2]),
        serve_in_thread(failing_app, ports[3]),
        serve_in_thread(create_gateway_app(gateway=service, registry=registry), ports[0]),
    ):
        gw = Gateway(
            f"http://127.0.0.1:{ports[0]}",  # the app itself; Serve mounts it at /v1
            f"http://127.0.0.1:{ports[1]}/v1",
            upstream_app.state.stats,
            settings.usage_stream,
            settings.usage_subject,
            settings,
            registry,
            f"http://127.0.0.1:{ports[2]}/v1",
            slow_app.state.stats,
            f"http://127.0.0.1:{ports[3]}/v1",
        )
        yield gw


async def usage_events(
    nats_url: str, stream: str, subject: str, want: int, wait_s: float = 10
) -> list[dict[str, Any]]:
    """Read (without acking away for others) the usage events published so far, waiting for `want`."""
    import json

    import nats

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + wait_s
        while True:
            try:
                info = await js.stream_info(stream)
                if info.state.messages >= want or time.monotonic() > deadline:
                    break
            except Exception:
                if time.monotonic() > deadline:
                    return []
            await asyncio.sleep(0.05)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            out.append(json.loads(msg.data))
        return out
    finally:
        await nc.close()


async def budget_used(redis_url: str, org_id: Any) -> int:
    """Tokens the org has used (and reserved) this month, as the budget store counts them."""
    from datetime import UTC, datetime

    from ias_serve.cache import make_redis
    from ias_serve.domain.budget import period_key

    r = make_redis(redis_url)
    try:
        return int(await r.get(f"ias:budget:{org_id}:{period_key(datetime.now(UTC))}") or 0)
    finally:
        await r.aclose()


async def settled_budget(redis_url: str, org_id: Any, want: int, within: float = 5.0) -> int:
    """The org's budget counter once it equals ``want`` (settlements run in the background,
    right after the response), or its value after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        got = await budget_used(redis_url, org_id)
        if got == want or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.05)
