"""The management API (`/api`) in-process on real PostgreSQL and Valkey, for component tests.

    async with management_api(database_url, redis_url, tmp_path) as api:
        admin = await api.user(system_admin=True)
        r = await api.client.post("/api/org", json={"name": "acme"}, headers=admin.headers)

Users are created with the repositories and given a session directly (the login route is
tested on its own); ``headers`` authenticate with ``Authorization: Bearer iass_…``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve.api.apps import create_management_app
from ias_serve.cache import BudgetStore, PostgresLimitSource, make_redis
from ias_serve.cache.key_store import RedisKeyStore
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.db.repositories import MembershipRepository, OrgRepository, UserRepository
from ias_serve.domain.passwords import hash_password
from ias_serve.domain.roles import OrgRole
from ias_serve.services.management.context import ManagementContext
from ias_serve.services.sessions import SessionAuthenticator
from ias_serve.settings import Settings
from tests.component.gateway_harness import new_session

PASSWORD = "correct horse battery staple"


@dataclass
class User:
    id: uuid.UUID
    email: str
    token: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Api:
    client: httpx.AsyncClient
    ctx: ManagementContext
    sm: async_sessionmaker[AsyncSession]
    settings: Settings
    outbox: Path
    made: list[Any] = field(default_factory=list)

    async def org(self, name: str | None = None) -> uuid.UUID:
        async with self.sm() as s, s.begin():
            org = await OrgRepository(s).create(name or f"org-{uuid.uuid4().hex[:8]}")
        return org.id

    async def user(
        self,
        *,
        system_admin: bool = False,
        org_id: uuid.UUID | None = None,
        role: OrgRole | str | None = None,
        email: str | None = None,
        password: bool = True,
    ) -> User:
        """An active user with a session (and a membership when ``org_id``); with the password
        :data:`PASSWORD` unless ``password=False`` (no argon2 hashing: much faster)."""
        address = email or f"u-{uuid.uuid4().hex[:10]}@example.com"
        async with self.sm() as s, s.begin():
            u = await UserRepository(s).create(
                address,
                name="Test User",
                password_hash=hash_password(PASSWORD) if password else None,
                is_system_admin=system_admin,
            )
            if org_id is not None:
                await MembershipRepository(s).add(u.id, org_id, OrgRole(role or OrgRole.ORG_USER))
            token = await new_session(s, u.id)
        return User(u.id, address, token)


def management_settings(database_url: str, redis_url: str, home: Path, **overrides: Any) -> Settings:
    return Settings(database_url=database_url, redis_url=redis_url, home=home, **overrides)


@asynccontextmanager
async def management_api(
    database_url: str, redis_url: str, home: Path, **overrides: Any
) -> AsyncIterator[Api]:
    """The app with a context like the deployment builds (mail to the outbox under ``home``)."""
    from ias_serve.services.management.mail import OutboxMailer

    settings = management_settings(database_url, redis_url, home, **overrides)
    engine = make_engine(database_url)
    redis = make_redis(redis_url)
    sm = make_sessionmaker(engine)
    outbox = home / "outbox"
    ctx = ManagementContext(
        sessionmaker=sm,
        settings=settings,
        mailer=OutboxMailer(outbox),
        keys=RedisKeyStore(redis),
        budgets=BudgetStore(redis, PostgresLimitSource(sm), registry=CollectorRegistry()),
    )
    app = create_management_app(
        management=ctx, sessions=SessionAuthenticator(sm), registry=CollectorRegistry()
    )
    transport = httpx.ASGITransport(app=app, root_path="/api")  # as mounted by Serve
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ias.test") as client:
            yield Api(client, ctx, sm, settings, outbox)
    finally:
        await redis.aclose()
        await engine.dispose()
