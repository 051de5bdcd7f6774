"""Budget alerts: an org's thresholds and webhook (``org_budget_alert_settings``) and the
alerts that fired (``budget_alerts``, unique per org, month and threshold)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from ias_serve.db.models import (
    BudgetAlert,
    Membership,
    Organization,
    OrgBudget,
    OrgBudgetAlertSettings,
    User,
)
from ias_serve.db.repositories._base import Repository, savepoint
from ias_serve.domain.budget_alerts import DeliveryStatus
from ias_serve.domain.roles import OrgRole, Status

PENDING = DeliveryStatus.PENDING.value


@dataclass(frozen=True, slots=True)
class Watched:
    """An org whose budget is watched: its thresholds, its limit, and those that already fired
    in the month asked about."""

    org_id: uuid.UUID
    thresholds: tuple[int, ...]
    limit: int
    fired: frozenset[int]
    has_webhook: bool

    @property
    def open_thresholds(self) -> list[int]:
        return [t for t in self.thresholds if t not in self.fired]


@dataclass(frozen=True, slots=True)
class Target:
    """Where an org's alerts go, read at delivery time (the settings may have changed)."""

    org_name: str
    admin_emails: list[str]
    webhook_url: str | None
    webhook_secret: str | None


class BudgetAlertRepository(Repository):
    # --- settings ----------------------------------------------------------------------------

    async def get_settings(self, org_id: uuid.UUID) -> OrgBudgetAlertSettings | None:
        return await self.session.get(OrgBudgetAlertSettings, org_id, populate_existing=True)

    async def set_settings(
        self,
        org_id: uuid.UUID,
        *,
        thresholds: Sequence[int],
        webhook_url: str | None,
        webhook_secret: str | None,
        updated_by: uuid.UUID | None,
    ) -> OrgBudgetAlertSettings:
        """Create or replace the org's settings (upsert). :class:`NotFound` when the org does
        not exist."""
        values: dict[str, Any] = {
            "thresholds": list(thresholds),
            "webhook_url": webhook_url,
            "webhook_secret": webhook_secret,
            "updated_by": updated_by,
        }
        stmt = (
            insert(OrgBudgetAlertSettings)
            .values(org_id=org_id, **values)
            .on_conflict_do_update(
                index_elements=[OrgBudgetAlertSettings.org_id], set_={**values, "updated_at": func.now()}
            )
            .returning(OrgBudgetAlertSettings)
            .execution_options(populate_existing=True)
        )
        async with savepoint(self.session):
            row = (await self.session.scalars(stmt)).one()
        return row

    # --- alerts ------------------------------------------------------------------------------

    async def list_alerts(self, org_id: uuid.UUID, period: str) -> list[BudgetAlert]:
        """The org's alerts of the month, newest first."""
        stmt = (
            select(BudgetAlert)
            .where(BudgetAlert.org_id == org_id, BudgetAlert.period == period)
            .order_by(BudgetAlert.created_at.desc(), BudgetAlert.threshold.desc())
        )
        return list(await self.session.scalars(stmt))

    async def watched(self, period: str) -> list[Watched]:
        """Every org with thresholds and a positive budget limit, with the thresholds that
        already fired in ``period``."""
        fired = (
            select(func.array_agg(BudgetAlert.threshold))  # NULL when none fired
            .where(BudgetAlert.org_id == OrgBudgetAlertSettings.org_id, BudgetAlert.period == period)
            .scalar_subquery()
        )
        stmt = (
            select(
                OrgBudgetAlertSettings.org_id,
                OrgBudgetAlertSettings.thresholds,
                OrgBudget.monthly_token_limit,
                fired,
                OrgBudgetAlertSettings.webhook_url.is_not(None),
            )
            .join(OrgBudget, OrgBudget.org_id == OrgBudgetAlertSettings.org_id)
            .where(func.cardinality(OrgBudgetAlertSettings.thresholds) > 0, OrgBudget.monthly_token_limit > 0)
            .order_by(OrgBudgetAlertSettings.org_id)
        )
        rows: list[Any] = list((await self.session.execute(stmt)).all())
        return [
            Watched(org_id, tuple(thresholds), int(limit), frozenset(done or ()), bool(hook))
            for org_id, thresholds, limit, done, hook in rows
        ]

    async def record(
        self,
        org_id: uuid.UUID,
        *,
        period: str,
        threshold: int,
        used: int,
        limit: int,
        webhook: bool,
        now: datetime,
    ) -> BudgetAlert | None:
        """Insert the alert unless (org, period, threshold) has one already: the new row, or
        ``None`` when another writer was first (it waits for that writer's commit)."""
        stmt = (
            insert(BudgetAlert)
            .values(
                id=uuid.uuid4(),
                org_id=org_id,
                period=period,
                threshold=threshold,
                used_tokens=used,
                limit_tokens=limit,
                email_status=PENDING,
                webhook_status=PENDING if webhook else DeliveryStatus.NONE.value,
                next_attempt_at=now,
            )
            .on_conflict_do_nothing(index_elements=["org_id", "period", "threshold"])
            .returning(BudgetAlert)
        )
        async with savepoint(self.session):
            return await self.session.scalar(stmt)

    async def claim_due(self, *, now: datetime, lease_until: datetime, batch: int) -> list[BudgetAlert]:
        """Take up to ``batch`` alerts with a pending channel whose next attempt is due, pushing
        their next attempt to ``lease_until``: no other dispatcher takes them meanwhile (rows
        another transaction is claiming are skipped), and a claimer that dies before recording
        the outcome leaves them due again at ``lease_until``."""
        due = (
            select(BudgetAlert.id)
            .where(
                or_(BudgetAlert.email_status == PENDING, BudgetAlert.webhook_status == PENDING),
                BudgetAlert.next_attempt_at <= now,
            )
            .order_by(BudgetAlert.next_attempt_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(BudgetAlert)
            .where(BudgetAlert.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=lease_until)
            .returning(BudgetAlert)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        return list(await self.session.scalars(stmt))

    async def save_outcome(self, alert_id: uuid.UUID, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(BudgetAlert)
            .where(BudgetAlert.id == alert_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def target(self, org_id: uuid.UUID) -> Target | None:
        """The org's name, its active Org Admins' addresses and its webhook; ``None`` when the
        org is gone."""
        org = await self.session.get(Organization, org_id)
        if org is None:
            return None
        settings = await self.get_settings(org_id)
        emails = await self.session.scalars(
            select(User.email)
            .join(Membership, and_(Membership.user_id == User.id, Membership.org_id == org_id))
            .where(Membership.role == OrgRole.ORG_ADMIN, User.status == Status.ACTIVE)
            .order_by(User.email)
        )
        return Target(
            org.name,
            list(emails),
            settings.webhook_url if settings is not None else None,
            settings.webhook_secret if settings is not None else None,
        )
