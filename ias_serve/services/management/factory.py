"""Wires a ManagementContext from Settings: the one place that knows every collaborator of the
management API (the Serve deployment and tests build it the same way)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from prometheus_client import CollectorRegistry

from ias_serve.cache import BudgetStore, PostgresLimitSource, make_redis
from ias_serve.cache.key_store import RedisKeyStore
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.errors import ConfigurationError
from ias_serve.services.management.context import Mailer, ManagementContext
from ias_serve.services.management.mail import OutboxMailer, SmtpMailer
from ias_serve.services.sessions import SessionAuthenticator
from ias_serve.settings import Settings


def outbox_dir(settings: Settings) -> Path:
    """Where invite e-mails go when no SMTP server is configured."""
    return settings.home_dir / "outbox"


def build_mailer(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else OutboxMailer(outbox_dir(settings))


def build_management(
    settings: Settings, *, registry: CollectorRegistry | None = None
) -> tuple[ManagementContext, SessionAuthenticator, Callable[[], Awaitable[None]]]:
    """The context, the session authenticator, and what closes their connections."""
    if not settings.database_url:
        raise ConfigurationError("the management API needs IAS_DATABASE_URL")
    engine = make_engine(settings.database_url, pool_size=5, max_overflow=5)
    sm = make_sessionmaker(engine)
    redis = make_redis(settings.redis_url) if settings.redis_url else None
    ctx = ManagementContext(
        sessionmaker=sm,
        settings=settings,
        mailer=build_mailer(settings),
        keys=RedisKeyStore(redis) if redis is not None else None,
        budgets=BudgetStore(
            redis,
            PostgresLimitSource(sm),
            limit_ttl_s=settings.budget_limit_ttl_s,
            registry=registry or CollectorRegistry(),
        )
        if redis is not None
        else None,
    )

    async def close() -> None:
        if redis is not None:
            await redis.aclose()
        await engine.dispose()

    return ctx, SessionAuthenticator(sm), close
