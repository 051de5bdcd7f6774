"""Wires a GatewayService from Settings: the one place that knows every collaborator."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import REGISTRY, CollectorRegistry

from ias_serve.cache import BudgetStore, KeyAuthenticator, PostgresLimitSource, make_redis
from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.errors import ConfigurationError
from ias_serve.queue.publisher import UsagePublisher
from ias_serve.services import tokens
from ias_serve.services.catalog import ModelCatalog, postgres_loader
from ias_serve.services.engines.base import EngineClient
from ias_serve.services.gateway import Engines, GatewayLimits, GatewayService
from ias_serve.services.gateway_metrics import GatewayMetrics
from ias_serve.settings import Settings


def build_gateway_service(
    settings: Settings,
    serve_engines: Mapping[str, EngineClient],
    *,
    registry: CollectorRegistry | None = None,
) -> GatewayService:
    missing = [n for n in ("database_url", "redis_url", "nats_url") if not getattr(settings, n)]
    if missing:
        raise ConfigurationError("the gateway needs " + ", ".join(f"IAS_{n.upper()}" for n in missing))
    registry = registry if registry is not None else REGISTRY
    sessions = make_sessionmaker(make_engine(settings.database_url))  # type: ignore[arg-type]
    redis = make_redis(settings.redis_url)  # type: ignore[arg-type]
    return GatewayService(
        authenticator=KeyAuthenticator(
            redis,
            sessions,
            cache_ttl_s=settings.key_cache_ttl_s,
            last_used_flush_s=settings.key_last_used_flush_s,
            registry=registry,
        ),
        budgets=BudgetStore(
            redis,
            PostgresLimitSource(sessions),
            fail_open=settings.budget_fail_open,
            limit_ttl_s=settings.budget_limit_ttl_s,
            lease_s=settings.rate_limit_lease_s,
            registry=registry,
        ),
        catalog=ModelCatalog(postgres_loader(sessions), ttl_s=settings.model_cache_ttl_s),
        engines=Engines(serve_engines),
        publisher=UsagePublisher(
            settings.nats_url,  # type: ignore[arg-type]
            stream=settings.usage_stream,
            subject=settings.usage_subject,
            max_buffer=settings.usage_publish_max_buffer,
            registry=registry,
        ),
        metrics=GatewayMetrics(registry),
        count_tokens=tokens.counter(),
        limits=GatewayLimits(
            max_body_bytes=settings.gateway_max_body_bytes,
            default_max_tokens=settings.gateway_default_max_tokens,
            max_output_tokens=settings.gateway_max_output_tokens,
            max_batch_prompts=settings.gateway_max_batch_prompts,
            max_embedding_inputs=settings.gateway_max_embedding_inputs,
            non_text_part_tokens=settings.gateway_non_text_part_tokens,
            inline_count_chars=settings.gateway_inline_count_chars,
        ),
    )
