"""What every Serve app module shares: validated builder args, the HTTP ingress shape."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from ray import serve
from ray.serve import Deployment

from ias_serve.observability import setup_observability
from ias_serve.serve_config import AppArgs, parse_args
from ias_serve.settings import get_settings

__all__ = ["AppArgs", "http_ingress", "parse_args"]


def http_ingress(deployment_name: str, app_name: str, factory: Callable[..., FastAPI]) -> Deployment:
    """A Serve ingress deployment around the FastAPI app that `factory` builds on the replica."""

    def build_asgi_app() -> FastAPI:  # a plain function: Serve calls it on the replica
        return factory(behind_serve=True)

    @serve.deployment(name=deployment_name)
    @serve.ingress(build_asgi_app)
    class Ingress:
        def __init__(self, args: AppArgs) -> None:
            setup_observability(app_name, get_settings().log_level)
            self.args = args

    Ingress.__name__ = Ingress.__qualname__ = deployment_name
    return Ingress
