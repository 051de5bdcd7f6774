"""`management` Serve app: the Core Management REST API (the source of truth) at `/api`, and
the web portal (a static SPA) at `/` (:mod:`ias_serve.api.portal`). Its route prefix is `/`:
Serve sends `/v1` and `/analytics` (longer prefixes) to their own apps."""

from __future__ import annotations

import logging
from typing import Any

from ray import serve
from ray.serve import Application
from starlette.applications import Starlette

from deployments.common import AppArgs, parse_args
from ias_serve.api.apps import create_management_app
from ias_serve.api.portal import create_portal_root
from ias_serve.observability import setup_observability
from ias_serve.services.management.factory import build_management
from ias_serve.settings import Settings, get_settings

log = logging.getLogger(__name__)


class ManagementArgs(AppArgs):
    """`args:` of the management app in serve_config.yaml."""


@serve.deployment(name="ManagementIngress")
@serve.ingress()
class ManagementIngress:
    def __init__(self, args: ManagementArgs, settings: Settings | None = None) -> None:
        settings = settings or get_settings()  # explicit settings: tests; production reads IAS_*
        setup_observability("management", settings.log_level)
        self.args = args
        self.portal_dist = settings.portal_dist
        self.built = build_management(settings) if settings.database_url else None
        if self.built is None:
            log.warning("IAS_DATABASE_URL is not set: the management routes answer 503")

    def __serve_build_asgi_app__(self) -> Starlette:
        # built after __init__, on the replica
        ctx, sessions = (self.built[0], self.built[1]) if self.built is not None else (None, None)
        api = create_management_app(management=ctx, sessions=sessions, behind_serve=True)
        return create_portal_root(api, self.portal_dist)

    async def __del__(self) -> None:
        if self.built is not None:
            await self.built[2]()


def build_app(args: dict[str, Any]) -> Application:
    return ManagementIngress.bind(parse_args(ManagementArgs, args, "management"))
