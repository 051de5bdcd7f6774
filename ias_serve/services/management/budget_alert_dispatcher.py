"""Budget alerts off the inference path: detect crossed thresholds, deliver e-mail and webhook.

:class:`BudgetAlertDispatcher` runs in the management app (its lifespan starts
:func:`running_budget_alerts`), one :meth:`~BudgetAlertDispatcher.tick` every
``IAS_BUDGET_ALERT_INTERVAL_S``. Several replicas may run it at once: correctness comes from
PostgreSQL, not from a single runner.

1. **Detect.** For every org with thresholds and a positive budget limit
   (:meth:`BudgetAlertRepository.watched`), read the month's usage from the gateway's Redis
   counter (:meth:`BudgetStore.used`: tokens used *and still reserved by running requests*, so
   an alert may fire a moment before the settled usage reaches the threshold — the gateway
   reserves an upper bound of each request's work). For each threshold reached, INSERT a
   ``budget_alerts`` row ``ON CONFLICT (org_id, period, threshold) DO NOTHING RETURNING``; only
   the writer whose row went in adds the ``budget_alert_triggered`` audit row, in the same
   transaction: once per threshold per month, whatever the number of replicas or requests.
2. **Deliver.** Claim due alerts (a pending channel, ``next_attempt_at <= now``) with
   ``FOR UPDATE SKIP LOCKED``, pushing their next attempt ``lease_s`` ahead (a dispatcher that
   dies mid-delivery leaves them due again then: nothing is lost across restarts; the price is
   that such an alert may be delivered twice). Then, per alert: one e-mail addressed to all the
   org's active Org Admins (through the :class:`Mailer`: SMTP or the outbox) and, with a webhook
   configured, one POST of the JSON body signed with HMAC-SHA256 (5 s timeout, redirects not
   followed, 2xx = delivered). A channel that failed is retried with :class:`Backoff` (1 s,
   doubling, up to 5 min, jittered) up to ``IAS_BUDGET_ALERT_MAX_ATTEMPTS`` rounds, then marked
   ``failed``.

Metrics: ``ias_budget_alerts_triggered_total`` and ``ias_budget_alert_deliveries_total{channel,
outcome}`` (outcome ``delivered``, ``retry``, ``failed``), plus ``ias_budget_alert_errors_total``
(ticks or usage reads that failed). Neither the secret nor the webhook URL's path is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ias_serve import __version__
from ias_serve.cache.budget import BudgetStore
from ias_serve.db.models import BudgetAlert
from ias_serve.db.repositories import AuditRepository, BudgetAlertRepository
from ias_serve.db.repositories.budget_alerts import Target, Watched
from ias_serve.domain.audit import AuditAction
from ias_serve.domain.budget import period_key
from ias_serve.domain.budget_alerts import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryStatus,
    alert_email,
    crossed_thresholds,
    non_public_address,
    private_webhook_host,
    sign,
    webhook_body,
)
from ias_serve.queue.backoff import Backoff
from ias_serve.services.management.context import Mailer, ManagementContext

_log = logging.getLogger(__name__)

PENDING, DELIVERED, FAILED, NONE = (
    DeliveryStatus.PENDING,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.NONE,
)
WEBHOOK_TIMEOUT_S: Final = 5.0
RETRY_INITIAL_S: Final = 1.0
RETRY_MAX_S: Final = 300.0
MAX_ERROR_CHARS: Final = 500


class BudgetAlertMetrics:
    """``ias_budget_alert*`` counters, registered into the registry given (or a private one)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.triggered = Counter(
            "budget_alerts_triggered",
            "Budget alerts that fired (once per org, month and threshold).",
            namespace="ias",
            registry=self.registry,
        )
        self.deliveries = Counter(
            "budget_alert_deliveries",
            "Delivery attempts of budget alerts by channel (email, webhook) and outcome "
            "(delivered, retry, failed: gave up).",
            ("channel", "outcome"),
            namespace="ias",
            registry=self.registry,
        )
        self.errors = Counter(
            "budget_alert_errors",
            "Budget alert ticks or usage reads that failed (retried on the next tick), by stage.",
            ("stage",),
            namespace="ias",
            registry=self.registry,
        )

    def value(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(f"ias_{name}_total", labels) or 0.0

    def unregister(self) -> None:
        for metric in (self.triggered, self.deliveries, self.errors):
            with contextlib.suppress(KeyError):
                self.registry.unregister(metric)


@dataclass(slots=True)
class TickResult:
    triggered: int = 0
    claimed: int = 0


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class BudgetAlertDispatcher:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        budgets: BudgetStore,
        mailer: Mailer,
        http: httpx.AsyncClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        registry: CollectorRegistry | None = None,
        max_attempts: int = 12,
        portal_url: str = "",
        allow_private: bool = False,
        resolve: Resolver | None = None,
        lease_s: float = 300.0,
        batch: int = 100,
        concurrency: int = 10,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.sm = sessionmaker
        self.budgets = budgets
        self.mailer = mailer
        self.http = http
        self.clock = clock
        self.metrics = BudgetAlertMetrics(registry)
        self.max_attempts = max_attempts
        self.portal_url = portal_url
        self.allow_private = allow_private  # webhooks to loopback/private/link-local addresses
        self.resolve = resolve or system_resolver
        self.lease_s = lease_s
        self.batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self._rng = rng or random.Random()

    @classmethod
    def from_context(
        cls, ctx: ManagementContext, http: httpx.AsyncClient, *, registry: CollectorRegistry | None = None
    ) -> BudgetAlertDispatcher:
        if ctx.budgets is None:
            raise ValueError("budget alerts need the gateway's budget counters (IAS_REDIS_URL)")
        return cls(
            sessionmaker=ctx.sessionmaker,
            budgets=ctx.budgets,
            mailer=ctx.mailer,
            http=http,
            clock=ctx.clock,
            registry=registry,
            max_attempts=ctx.settings.budget_alert_max_attempts,
            portal_url=ctx.settings.portal_url,
            allow_private=ctx.settings.budget_alert_webhook_allow_private,
        )

    # --- the loop ----------------------------------------------------------------------------

    async def tick(self) -> TickResult:
        """Detect newly crossed thresholds, then deliver what is due."""
        triggered = await self.detect()
        claimed = await self.deliver()
        return TickResult(triggered, claimed)

    async def run(self, interval_s: float) -> None:
        """:meth:`tick` every ``interval_s`` until cancelled; a failed tick is logged and counted."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.metrics.errors.labels("tick").inc()
                _log.warning("budget alert tick failed (retried in %.1f s): %s", interval_s, _describe(exc))
            await asyncio.sleep(interval_s)

    # --- detection ---------------------------------------------------------------------------

    async def detect(self) -> int:
        """Record an alert for every threshold reached this month that has none yet; returns
        how many this dispatcher recorded."""
        now = self.clock()
        period = period_key(now)
        async with self.sm() as session:
            watched = await BudgetAlertRepository(session).watched(period)
        fired = 0
        for org in watched:
            if not org.open_thresholds:
                continue  # every threshold fired this month: no need to read the usage
            try:
                used = await self.budgets.used(org.org_id, now=now)
            except Exception as exc:
                self.metrics.errors.labels("usage").inc()
                _log.warning("cannot read the month's usage of org %s: %s", org.org_id, _describe(exc))
                continue
            crossed = crossed_thresholds(org.open_thresholds, used, org.limit)
            if crossed:
                fired += await self._record(org, period, crossed, used, now)
        return fired

    async def _record(self, org: Watched, period: str, crossed: list[int], used: int, now: datetime) -> int:
        new: list[BudgetAlert] = []
        async with self.sm() as session, session.begin():
            repo, audit = BudgetAlertRepository(session), AuditRepository(session)
            for threshold in crossed:
                row = await repo.record(
                    org.org_id,
                    period=period,
                    threshold=threshold,
                    used=used,
                    limit=org.limit,
                    webhook=org.has_webhook,
                    now=now,
                )
                if row is None:
                    continue  # another dispatcher was first
                new.append(row)
                await audit.record(
                    AuditAction.BUDGET_ALERT_TRIGGERED,
                    org_id=org.org_id,
                    payload={
                        "alert_id": row.id,
                        "period": period,
                        "threshold": threshold,
                        "used_tokens": used,
                        "limit_tokens": org.limit,
                        "webhook": org.has_webhook,
                    },
                )
        for row in new:
            self.metrics.triggered.inc()
            _log.info(
                "budget alert: org %s reached %d%% of its monthly budget (%d of %d tokens, %s)",
                row.org_id,
                row.threshold,
                used,
                org.limit,
                period,
            )
        return len(new)

    # --- delivery ----------------------------------------------------------------------------

    async def deliver(self) -> int:
        """Deliver the due alerts (claimed, so no other dispatcher delivers them meanwhile);
        returns how many were claimed."""
        now = self.clock()
        async with self.sm() as session, session.begin():
            claimed = await BudgetAlertRepository(session).claim_due(
                now=now, lease_until=now + timedelta(seconds=self.lease_s), batch=self.batch
            )
        await asyncio.gather(*(self._deliver_guarded(alert) for alert in claimed))
        return len(claimed)

    async def _deliver_guarded(self, alert: BudgetAlert) -> None:
        async with self._slots:
            try:
                await self._deliver(alert)
            except Exception as exc:  # e.g. PostgreSQL gone: the lease brings it back
                self.metrics.errors.labels("deliver").inc()
                _log.warning("delivering budget alert %s failed: %s", alert.id, _describe(exc))

    async def _deliver(self, alert: BudgetAlert) -> None:
        async with self.sm() as session:
            target = await BudgetAlertRepository(session).target(alert.org_id)
        if target is None:
            return  # the org is gone (and its alerts with it)
        email, hook = DeliveryStatus(alert.email_status), DeliveryStatus(alert.webhook_status)
        errors: list[str] = []
        if email is PENDING:
            email, error = await self._send_mail(alert, target)
            errors += [f"email: {error}"] if error else []
        if hook is PENDING:
            hook, error = await self._post_webhook(alert, target)
            errors += [f"webhook: {error}"] if error else []
        attempts = alert.attempts + 1
        statuses = {"email": email, "webhook": hook}
        for channel, status in statuses.items():
            if status is PENDING:
                if attempts >= self.max_attempts:
                    statuses[channel] = FAILED
                    self.metrics.deliveries.labels(channel, "failed").inc()
                    _log.warning(
                        "budget alert %s: %s delivery failed %d times, gave up", alert.id, channel, attempts
                    )
                else:
                    self.metrics.deliveries.labels(channel, "retry").inc()
        values: dict[str, Any] = {
            "email_status": statuses["email"].value,
            "webhook_status": statuses["webhook"].value,
            "attempts": attempts,
            "last_error": "; ".join(errors)[:MAX_ERROR_CHARS] if errors else None,
        }
        if PENDING in statuses.values():
            values["next_attempt_at"] = self.clock() + timedelta(seconds=self.retry_delay(attempts))
        async with self.sm() as session, session.begin():
            await BudgetAlertRepository(session).save_outcome(alert.id, values)

    def retry_delay(self, attempts: int) -> float:
        """Seconds before the next round after ``attempts`` rounds: the project's
        :class:`Backoff` (1 s doubling up to 5 min, each scaled by a random [0.5, 1])."""
        backoff = Backoff(RETRY_INITIAL_S, RETRY_MAX_S, rng=self._rng)
        delay = backoff.next_delay()
        for _ in range(max(0, attempts - 1)):
            delay = backoff.next_delay()
        return delay

    async def _send_mail(self, alert: BudgetAlert, target: Target) -> tuple[DeliveryStatus, str | None]:
        if not target.admin_emails:
            return NONE, None  # nobody to tell (an org without an active Org Admin)
        subject, body = alert_email(
            org_name=target.org_name,
            period=alert.period,
            threshold=alert.threshold,
            used=alert.used_tokens,
            limit=alert.limit_tokens,
            portal_url=self.portal_url,
        )
        try:
            await self.mailer.send(to=", ".join(target.admin_emails), subject=subject, body=body)
        except Exception as exc:
            _log.warning("budget alert %s: e-mail not sent: %s", alert.id, _describe(exc))
            return PENDING, _describe(exc)
        self.metrics.deliveries.labels("email", "delivered").inc()
        return DELIVERED, None

    async def _post_webhook(self, alert: BudgetAlert, target: Target) -> tuple[DeliveryStatus, str | None]:
        if target.webhook_url is None or target.webhook_secret is None:
            return NONE, None  # the webhook was removed since the alert fired
        body = webhook_body(
            alert_id=alert.id,
            org_id=alert.org_id,
            org_name=target.org_name,
            period=alert.period,
            threshold=alert.threshold,
            used=alert.used_tokens,
            limit=alert.limit_tokens,
            created_at=alert.created_at.astimezone(UTC).isoformat(),
        )
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"ias-budget-alerts/{__version__}",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(target.webhook_secret, timestamp, body),
        }
        host = urlsplit(target.webhook_url).hostname
        refused = None if self.allow_private else await _non_public_reason(target.webhook_url, self.resolve)
        if refused is not None:  # never sent: an Org Admin's URL must not reach internal services
            self.metrics.deliveries.labels("webhook", "failed").inc()
            _log.warning("budget alert %s: webhook to %s refused: %s", alert.id, host, refused)
            return FAILED, refused
        try:
            async with self.http.stream(
                "POST",
                target.webhook_url,
                content=body,
                headers=headers,
                timeout=WEBHOOK_TIMEOUT_S,
                follow_redirects=False,
            ) as response:
                status = response.status_code  # the body is not read: it does not matter
        except httpx.HTTPError as exc:
            _log.warning("budget alert %s: webhook to %s unreachable: %s", alert.id, host, type(exc).__name__)
            return PENDING, _describe(exc) or type(exc).__name__
        if 200 <= status < 300:
            self.metrics.deliveries.labels("webhook", "delivered").inc()
            return DELIVERED, None
        _log.warning("budget alert %s: webhook to %s answered HTTP %d", alert.id, host, status)
        return PENDING, f"HTTP {status}"


Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) → addresses`` (the system resolver by default)."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(i[4][0]) for i in infos]


async def _non_public_reason(url: str, resolve: Resolver) -> str | None:
    """Why ``url`` may not be called (its host is, or resolves to, a non-public address), or
    None. Every address the name resolves to must be public. (The connection resolves again:
    a DNS answer that changes in between is not caught; egress rules on the management pods
    are the second line, see the README.)"""
    parts = urlsplit(url)
    if private_webhook_host(url):
        return f"refused: {parts.hostname} is not a public address"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolve(parts.hostname or "", port)
    except OSError:
        return None  # unresolvable now: the request itself fails and is retried
    bad = sorted({a for a in addresses if non_public_address(a)})
    return f"refused: {parts.hostname} resolves to non-public {', '.join(bad)}" if bad else None


@contextlib.asynccontextmanager
async def running_budget_alerts(
    ctx: ManagementContext, *, registry: CollectorRegistry | None = None
) -> AsyncIterator[BudgetAlertDispatcher | None]:
    """The dispatcher ticking in the background while the block runs (the management app's
    lifespan). Without Redis (no usage counters) there is nothing to watch: ``None``."""
    if ctx.budgets is None:
        _log.warning("no IAS_REDIS_URL: budget alerts are off (no usage counters to watch)")
        yield None
        return
    async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False) as http:
        dispatcher = BudgetAlertDispatcher.from_context(ctx, http, registry=registry)
        task = asyncio.create_task(dispatcher.run(ctx.settings.budget_alert_interval_s))
        try:
            yield dispatcher
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            dispatcher.metrics.unregister()
