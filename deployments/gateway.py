"""`gateway` Serve app (`/v1`): the OpenAI-compatible ingress composing one engine deployment
per model through DeploymentHandles (ARCHITECTURE §1, §3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application
from ray.serve.handle import DeploymentHandle

from deployments.engines import EchoEngineDeployment, ServeEngineClient
from ias_serve.api.apps import create_gateway_app
from ias_serve.observability import setup_observability
from ias_serve.observability.metrics import start_metrics_server
from ias_serve.serve_config import EchoEngineSpec, EngineSpec, GatewayArgs, parse_args
from ias_serve.services.gateway_factory import build_gateway_service
from ias_serve.settings import Settings, get_settings


@serve.deployment(name="GatewayIngress")
@serve.ingress()
class GatewayIngress:
    def __init__(
        self, args: GatewayArgs, engines: dict[str, DeploymentHandle], settings: Settings | None = None
    ) -> None:
        settings = settings or get_settings()  # explicit settings: tests; production reads IAS_*
        setup_observability("gateway", settings.log_level)
        self.args = args
        if args.metrics_port:  # the registry /v1/metrics serves, on a port of its own
            start_metrics_server(args.metrics_port, "gateway")
        self.service = build_gateway_service(
            settings, {name: ServeEngineClient(handle) for name, handle in engines.items()}
        )

    def __serve_build_asgi_app__(self) -> FastAPI:
        # built after __init__, on the replica: the app's lifespan starts and stops the service
        return create_gateway_app(gateway=self.service, behind_serve=True)


def engine_app(spec: EngineSpec, models_dir: Path) -> Application:
    if isinstance(spec, EchoEngineSpec):
        return EchoEngineDeployment.options(
            name=f"EchoEngine:{spec.name}",
            num_replicas=spec.num_replicas,
            ray_actor_options={"num_cpus": spec.num_cpus},
        ).bind(spec.name)
    from deployments.llm import build_llm_engine  # imports vLLM: only when a config has one

    return build_llm_engine(spec, models_dir)


def build_app(args: dict[str, Any]) -> Application:
    cfg = parse_args(GatewayArgs, args, "gateway")
    models_dir = get_settings().models_dir
    return GatewayIngress.bind(cfg, {e.name: engine_app(e, models_dir) for e in cfg.engines})
