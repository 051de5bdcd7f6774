"""`gateway` Serve app (`/v1`): health and metrics only until the gateway issue lands."""

from __future__ import annotations

from typing import Any

from ray.serve import Application

from deployments.common import AppArgs, http_ingress, parse_args
from ias_serve.api.apps import create_gateway_app


class GatewayArgs(AppArgs):
    """`args:` of the gateway app in serve_config.yaml."""


GatewayIngress = http_ingress("GatewayIngress", "gateway", create_gateway_app)


def build_app(args: dict[str, Any]) -> Application:
    return GatewayIngress.bind(parse_args(GatewayArgs, args, "gateway"))
