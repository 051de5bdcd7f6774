"""The Core Management API's routers, one per resource (mounted by ``create_management_app``)."""

from __future__ import annotations

from fastapi import APIRouter

from ias_serve.api.management import (
    audit,
    auth,
    budget_alerts,
    budgets,
    invites,
    keys,
    members,
    models,
    orgs,
    rate_limits,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    invites.router,
    orgs.router,
    members.router,
    keys.router,
    budgets.router,
    budget_alerts.router,
    rate_limits.router,
    models.router,
    audit.router,
)
