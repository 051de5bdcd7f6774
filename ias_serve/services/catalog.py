"""Model mappings as the gateway sees them: read from PostgreSQL, cached, never per request.

The whole (small) table of enabled mappings is held in memory and refreshed in the background
every `ttl_s`; a request only ever reads memory, except the very first one of a process.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ias_serve.domain.model_mappings import BackendKind, is_model_allowed
from ias_serve.errors import ModelNotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelRoute:
    name: str
    kind: BackendKind
    target: str
    allowed_org_ids: tuple[uuid.UUID, ...] | None
    created: int
    price_input: Decimal = Decimal(0)
    """Per million input tokens (copied into each usage event: cost at the request's prices)."""
    price_output: Decimal = Decimal(0)

    def allows(self, org_id: uuid.UUID) -> bool:
        return is_model_allowed(self.allowed_org_ids, org_id)


Loader = Callable[[], Awaitable[Sequence[ModelRoute]]]


def postgres_loader(sessionmaker) -> Loader:  # type: ignore[no-untyped-def]
    """Enabled mappings from PostgreSQL (ModelMappingRepository)."""

    async def load() -> list[ModelRoute]:
        from ias_serve.db.repositories import ModelMappingRepository

        async with sessionmaker() as session:
            rows = await ModelMappingRepository(session).list_mappings(enabled_only=True)
        return [
            ModelRoute(
                name=r.name,
                kind=BackendKind(r.backend_kind),
                target=r.target,
                allowed_org_ids=None if r.allowed_org_ids is None else tuple(r.allowed_org_ids),
                created=int(r.created_at.timestamp()),
                price_input=r.price_per_million_input,
                price_output=r.price_per_million_output,
            )
            for r in rows
        ]

    return load


class ModelCatalog:
    def __init__(self, loader: Loader, *, ttl_s: float = 5.0) -> None:
        self.loader = loader
        self.ttl_s = ttl_s
        self._routes: dict[str, ModelRoute] | None = None
        self._loaded_at = 0.0
        self._refreshing: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def _load(self) -> None:
        routes = await self.loader()
        self._routes = {r.name: r for r in routes}
        self._loaded_at = time.monotonic()

    async def _current(self) -> dict[str, ModelRoute]:
        if self._routes is None:
            async with self._lock:
                if self._routes is None:
                    await self._load()
        elif time.monotonic() - self._loaded_at > self.ttl_s and not self._refreshing:
            self._refreshing = asyncio.create_task(self._refresh())
        assert self._routes is not None
        return self._routes

    async def _refresh(self) -> None:
        try:
            await self._load()
        except Exception:  # keep serving the last good table
            log.warning("model catalog refresh failed; serving the cached table", exc_info=True)
            self._loaded_at = time.monotonic()
        finally:
            self._refreshing = None

    async def invalidate(self) -> None:
        async with self._lock:
            await self._load()

    async def resolve(self, name: str, org_id: uuid.UUID) -> ModelRoute:
        route = (await self._current()).get(name)
        if route is None or not route.allows(org_id):
            # same answer for "unknown" and "not allowed": no leak of other tenants' models
            raise ModelNotFound(
                f"The model '{name[:100]}' does not exist or you do not have access to it.", param="model"
            )
        return route

    async def for_org(self, org_id: uuid.UUID) -> list[ModelRoute]:
        return sorted((r for r in (await self._current()).values() if r.allows(org_id)), key=lambda r: r.name)
