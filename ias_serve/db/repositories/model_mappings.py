"""Model mappings: public model name → backend, with prices and a per-org allow-list.

``allowed_org_ids``: ``None`` = every organisation; a list = only those (empty: none). See
:mod:`ias_serve.domain.model_mappings`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from decimal import Decimal

from sqlalchemy import any_, delete, or_, select

from ias_serve.db.models import ModelMapping
from ias_serve.db.repositories._base import UNSET, Repository, Unset
from ias_serve.domain.model_mappings import (
    BackendKind,
    normalize_allow_list,
    validate_model_name,
    validate_price,
    validate_target,
)
from ias_serve.errors import NotFound

Price = Decimal | int | str


class ModelMappingRepository(Repository):
    async def create(
        self,
        name: str,
        backend_kind: BackendKind | str,
        target: str,
        *,
        enabled: bool = True,
        allowed_org_ids: Iterable[uuid.UUID] | None = None,
        price_per_million_input: Price = 0,
        price_per_million_output: Price = 0,
    ) -> ModelMapping:
        """Validates name, target and prices; :class:`Conflict` when the name exists."""
        kind = BackendKind(backend_kind)
        mapping = ModelMapping(
            name=validate_model_name(name),
            backend_kind=kind,
            target=validate_target(kind, target),
            enabled=enabled,
            allowed_org_ids=normalize_allow_list(allowed_org_ids),
            price_per_million_input=validate_price(price_per_million_input, param="price_per_million_input"),
            price_per_million_output=validate_price(
                price_per_million_output, param="price_per_million_output"
            ),
        )
        await self._add(mapping)
        return mapping

    async def get(self, mapping_id: uuid.UUID) -> ModelMapping | None:
        return await self.session.get(ModelMapping, mapping_id)

    async def require(self, mapping_id: uuid.UUID) -> ModelMapping:
        mapping = await self.get(mapping_id)
        if mapping is None:
            raise NotFound("model mapping not found", param="id")
        return mapping

    async def get_by_name(self, name: str) -> ModelMapping | None:
        return await self.session.scalar(select(ModelMapping).where(ModelMapping.name == name.strip()))

    async def list_mappings(self, *, enabled_only: bool = False) -> list[ModelMapping]:
        stmt = select(ModelMapping).order_by(ModelMapping.name)
        if enabled_only:
            stmt = stmt.where(ModelMapping.enabled.is_(True))
        return list(await self.session.scalars(stmt))

    async def list_for_org(self, org_id: uuid.UUID) -> list[ModelMapping]:
        """Enabled mappings the organisation may use (``/v1/models`` of its keys)."""
        stmt = (
            select(ModelMapping)
            .where(
                ModelMapping.enabled.is_(True),
                or_(ModelMapping.allowed_org_ids.is_(None), any_(ModelMapping.allowed_org_ids) == org_id),
            )
            .order_by(ModelMapping.name)
        )
        return list(await self.session.scalars(stmt))

    async def update(
        self,
        mapping_id: uuid.UUID,
        *,
        name: str | Unset = UNSET,
        backend_kind: BackendKind | str | Unset = UNSET,
        target: str | Unset = UNSET,
        enabled: bool | Unset = UNSET,
        allowed_org_ids: Iterable[uuid.UUID] | Unset | None = UNSET,
        price_per_million_input: Price | Unset = UNSET,
        price_per_million_output: Price | Unset = UNSET,
    ) -> ModelMapping:
        """Change the given fields. A new ``backend_kind`` needs a ``target`` valid for it."""
        current = await self.require(mapping_id)
        values: dict[str, object] = {}
        if name is not UNSET:
            values["name"] = validate_model_name(name)
        kind = current.backend_kind if backend_kind is UNSET else BackendKind(backend_kind)
        if backend_kind is not UNSET:
            values["backend_kind"] = kind
        if target is not UNSET or backend_kind is not UNSET:
            values["target"] = validate_target(kind, current.target if target is UNSET else target)
        if enabled is not UNSET:
            values["enabled"] = enabled
        if allowed_org_ids is not UNSET:
            values["allowed_org_ids"] = normalize_allow_list(allowed_org_ids)
        if price_per_million_input is not UNSET:
            values["price_per_million_input"] = validate_price(
                price_per_million_input, param="price_per_million_input"
            )
        if price_per_million_output is not UNSET:
            values["price_per_million_output"] = validate_price(
                price_per_million_output, param="price_per_million_output"
            )
        if not values:
            return current
        return await self._update_by_id(
            ModelMapping, mapping_id, values, NotFound("model mapping not found", param="id")
        )

    async def delete(self, mapping_id: uuid.UUID) -> bool:
        stmt = (
            delete(ModelMapping)
            .where(ModelMapping.id == mapping_id)
            .returning(ModelMapping.id)
            .execution_options(synchronize_session="fetch")
        )
        return (await self.session.scalar(stmt)) is not None

    async def list_for_orgs(self, org_ids: Collection[uuid.UUID]) -> list[ModelMapping]:
        """Enabled mappings that at least one of the organisations may use (a member's view)."""
        if not org_ids:
            return []
        wanted = sorted(org_ids)
        stmt = (
            select(ModelMapping)
            .where(
                ModelMapping.enabled.is_(True),
                or_(
                    ModelMapping.allowed_org_ids.is_(None),
                    ModelMapping.allowed_org_ids.overlap(wanted),
                ),
            )
            .order_by(ModelMapping.name)
        )
        return list(await self.session.scalars(stmt))
