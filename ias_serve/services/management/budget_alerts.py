"""Budget alert settings of organisations: read (with this month's alerts) and set.

* Read and set: :data:`Action.SET_ORG_BUDGET` — System Admin: any org; Org Admin: own; Org User
  403 (the webhook URL is the admins' business); outsiders 404.
* Set: one audited transaction (``budget_alerts_changed``, payload ``{"old", "new"}`` with the
  thresholds and webhook URL, and ``secret_generated``; never the secret) holding the org's
  advisory lock, so concurrent writers take turns and a secret is generated once.
* The webhook signing secret (``whsec_…``) is generated server-side the first time a webhook
  URL is set, and again on ``rotate_secret``; the answer of that write carries it, nothing
  else ever does. Removing the webhook (``webhook_url`` null) deletes the secret.

The alerts themselves are detected and delivered off the request path by
:class:`~ias_serve.services.management.budget_alert_dispatcher.BudgetAlertDispatcher`.
"""

from __future__ import annotations

import uuid

from ias_serve.db.models import BudgetAlert, OrgBudgetAlertSettings
from ias_serve.db.repositories import BudgetAlertRepository, OrgRepository
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.budget import period_key
from ias_serve.domain.budget_alerts import DeliveryStatus, new_webhook_secret, private_webhook_host
from ias_serve.domain.policy import Action, authorize
from ias_serve.domain.principal import SessionPrincipal
from ias_serve.errors import BadRequest
from ias_serve.protocol.management.budget_alerts import (
    BudgetAlertPublic,
    BudgetAlertsPublic,
    BudgetAlertsUpdate,
    BudgetAlertsWithSecret,
)
from ias_serve.services.management._locks import advisory_lock
from ias_serve.services.management.context import ManagementContext


def alert_public(row: BudgetAlert) -> BudgetAlertPublic:
    return BudgetAlertPublic(
        id=row.id,
        period=row.period,
        threshold=row.threshold,
        used_tokens=row.used_tokens,
        limit_tokens=row.limit_tokens,
        created_at=row.created_at,
        email_status=DeliveryStatus(row.email_status),
        webhook_status=DeliveryStatus(row.webhook_status),
        attempts=row.attempts,
        last_error=row.last_error,
    )


def settings_public(
    org_id: uuid.UUID, row: OrgBudgetAlertSettings | None, alerts: list[BudgetAlert]
) -> BudgetAlertsPublic:
    return BudgetAlertsPublic(
        org_id=org_id,
        thresholds=list(row.thresholds) if row is not None else [],
        webhook_url=row.webhook_url if row is not None else None,
        webhook_secret_set=row is not None and row.webhook_secret is not None,
        alerts=[alert_public(a) for a in alerts],
        updated_at=row.updated_at if row is not None else None,
        updated_by=row.updated_by if row is not None else None,
    )


def _view(row: OrgBudgetAlertSettings | None) -> dict[str, object]:
    return {
        "thresholds": list(row.thresholds) if row is not None else [],
        "webhook_url": row.webhook_url if row is not None else None,
    }


class BudgetAlertService:
    def __init__(self, ctx: ManagementContext) -> None:
        self.ctx = ctx

    async def get(self, principal: SessionPrincipal, org_id: uuid.UUID) -> BudgetAlertsPublic:
        authorize(principal, Action.SET_ORG_BUDGET, org_id=org_id)
        async with self.ctx.reading() as session:
            await OrgRepository(session).require(org_id)
            repo = BudgetAlertRepository(session)
            row = await repo.get_settings(org_id)
            alerts = await repo.list_alerts(org_id, period_key(self.ctx.clock()))
        return settings_public(org_id, row, alerts)

    async def set(
        self, principal: SessionPrincipal, org_id: uuid.UUID, body: BudgetAlertsUpdate
    ) -> BudgetAlertsPublic | BudgetAlertsWithSecret:
        authorize(principal, Action.SET_ORG_BUDGET, org_id=org_id)
        if body.rotate_secret and body.webhook_url is None:
            raise BadRequest(
                "rotate_secret needs a webhook_url (without a webhook there is no secret)",
                param="rotate_secret",
                code="invalid_request",
                details=[
                    {"loc": ["body", "rotate_secret"], "msg": "needs a webhook_url", "type": "value_error"}
                ],
            )
        if (
            body.webhook_url is not None
            and not self.ctx.settings.budget_alert_webhook_allow_private
            and private_webhook_host(body.webhook_url)
        ):
            raise BadRequest(
                "webhook_url points at a loopback, private or link-local address; webhooks go to "
                "public addresses only (IAS_BUDGET_ALERT_WEBHOOK_ALLOW_PRIVATE=true allows others)",
                param="webhook_url",
                code="invalid_request",
                details=[
                    {"loc": ["body", "webhook_url"], "msg": "not a public address", "type": "value_error"}
                ],
            )
        generated: str | None = None
        async with self.ctx.audited(principal.user_id, AuditAction.BUDGET_ALERTS_CHANGED, org_id=org_id) as w:
            await OrgRepository(w.session).require(org_id)
            await advisory_lock(w.session, "budget_alerts", org_id)
            repo = BudgetAlertRepository(w.session)
            current = await repo.get_settings(org_id)
            old = _view(current)
            secret = current.webhook_secret if current is not None else None
            if body.webhook_url is None:
                secret = None
            elif secret is None or body.rotate_secret:
                secret = generated = new_webhook_secret()
            row = await repo.set_settings(
                org_id,
                thresholds=body.thresholds,
                webhook_url=body.webhook_url,
                webhook_secret=secret,
                updated_by=principal.user_id,
            )
            alerts = await repo.list_alerts(org_id, period_key(self.ctx.clock()))
            w.payload.update(old=old, new=_view(row), secret_generated=generated is not None)
        public = settings_public(org_id, row, alerts)
        if generated is None:
            return public
        return BudgetAlertsWithSecret(**public.model_dump(), webhook_secret=generated)
