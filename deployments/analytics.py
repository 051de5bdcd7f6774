"""`analytics` Serve app (`/analytics`): health and metrics only until the analytics issue lands."""

from __future__ import annotations

from typing import Any

from ray.serve import Application

from deployments.common import AppArgs, http_ingress, parse_args
from ias_serve.api.apps import create_analytics_app


class AnalyticsArgs(AppArgs):
    """`args:` of the analytics app in serve_config.yaml."""


AnalyticsIngress = http_ingress("AnalyticsIngress", "analytics", create_analytics_app)


def build_app(args: dict[str, Any]) -> Application:
    return AnalyticsIngress.bind(parse_args(AnalyticsArgs, args, "analytics"))
