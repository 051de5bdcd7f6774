"""`usage` Serve app: the UsageRecorder actor (no HTTP route).

A placeholder until the usage-pipeline issue lands: it validates its args and reports healthy,
so `ias up` can already deploy and watch the full set of applications.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from ray import serve
from ray.serve import Application

from deployments.common import AppArgs, parse_args
from ias_serve.observability import setup_observability
from ias_serve.settings import get_settings


class UsageArgs(AppArgs):
    """`args:` of the usage app in serve_config.yaml."""

    batch_size: int = Field(default=5000, ge=1, le=100_000, description="Max events per insert.")
    max_wait_s: float = Field(default=1.0, gt=0, le=60, description="Max wait to fill a batch.")


@serve.deployment(name="UsageRecorder", num_replicas=1)
class UsageRecorder:
    def __init__(self, args: UsageArgs) -> None:
        setup_observability("usage", get_settings().log_level)
        self.args = args

    def check_health(self) -> None:
        """Serve's health probe; the real recorder will report its consumer state here."""


def build_app(args: dict[str, Any]) -> Application:
    return UsageRecorder.bind(parse_args(UsageArgs, args, "usage"))
