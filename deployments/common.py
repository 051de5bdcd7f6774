"""What every Serve app module shares: validated builder args, the HTTP ingress shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, ValidationError
from ray import serve
from ray.serve import Deployment

from ias_serve.errors import ConfigurationError
from ias_serve.observability import setup_observability
from ias_serve.settings import get_settings

A = TypeVar("A", bound="AppArgs")


class AppArgs(BaseModel):
    """Base of the `args:` block of one application in serve_config.yaml.

    Unknown keys are refused: a typo in the config must fail the deploy, not be ignored.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_args(model: type[A], args: dict[str, Any] | None, app: str) -> A:
    try:
        return model.model_validate(args or {})
    except ValidationError as e:
        raise ConfigurationError(f"serve_config.yaml: invalid args for application {app!r}: {e}") from e


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
