"""`management` Serve app (`/api`): health and metrics only until the management issue lands."""

from __future__ import annotations

from typing import Any

from ray.serve import Application

from deployments.common import AppArgs, http_ingress, parse_args
from ias_serve.api.apps import create_management_app


class ManagementArgs(AppArgs):
    """`args:` of the management app in serve_config.yaml."""


ManagementIngress = http_ingress("ManagementIngress", "management", create_management_app)


def build_app(args: dict[str, Any]) -> Application:
    return ManagementIngress.bind(parse_args(ManagementArgs, args, "management"))
