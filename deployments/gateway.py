"""`gateway` Serve app (`/v1`): the OpenAI-compatible ingress composing one engine deployment
per model through DeploymentHandles (ARCHITECTURE §1, §3)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from pydantic import Field
from ray import serve
from ray.serve import Application
from ray.serve.handle import DeploymentHandle

from deployments.common import AppArgs, parse_args
from deployments.engines import EchoEngineDeployment, ServeEngineClient
from ias_serve.api.apps import create_gateway_app
from ias_serve.observability import setup_observability
from ias_serve.services.gateway_factory import build_gateway_service
from ias_serve.settings import Settings, get_settings


class EngineSpec(AppArgs):
    """One engine deployment; its `name` is the target a `serve` model mapping points at."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
    kind: Literal["echo"] = "echo"
    num_replicas: int = Field(default=1, ge=1, le=64)
    num_cpus: float = Field(default=0.1, gt=0, le=64)


class GatewayArgs(AppArgs):
    """`args:` of the gateway app in serve_config.yaml."""

    engines: list[EngineSpec] = Field(default_factory=list)


@serve.deployment(name="GatewayIngress")
@serve.ingress()
class GatewayIngress:
    def __init__(
        self, args: GatewayArgs, engines: dict[str, DeploymentHandle], settings: Settings | None = None
    ) -> None:
        settings = settings or get_settings()  # explicit settings: tests; production reads IAS_*
        setup_observability("gateway", settings.log_level)
        self.args = args
        self.service = build_gateway_service(
            settings, {name: ServeEngineClient(handle) for name, handle in engines.items()}
        )

    def __serve_build_asgi_app__(self) -> FastAPI:
        # built after __init__, on the replica: the app's lifespan starts and stops the service
        return create_gateway_app(gateway=self.service, behind_serve=True)


def build_app(args: dict[str, Any]) -> Application:
    cfg = parse_args(GatewayArgs, args, "gateway")
    names = [e.name for e in cfg.engines]
    if len(set(names)) != len(names):
        from ias_serve.errors import ConfigurationError

        raise ConfigurationError(f"serve_config.yaml: engine names must be unique, got {names}")
    engines = {
        e.name: EchoEngineDeployment.options(
            name=f"EchoEngine:{e.name}",
            num_replicas=e.num_replicas,
            ray_actor_options={"num_cpus": e.num_cpus},
        ).bind(e.name)
        for e in cfg.engines
    }
    return GatewayIngress.bind(cfg, engines)
