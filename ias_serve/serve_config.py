"""The `args:` of the Serve applications in serve_config.yaml, validated at the builder boundary.

Ray-free on purpose: `ias up` reads the gateway's engine list from the same file (to create the
default model mappings) without importing Ray Serve LLM, and each engine's `llm_config` is
validated by Ray Serve LLM's own `LLMConfig` in the builder (deployments/llm.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ias_serve.domain.model_mappings import BackendKind, validate_model_name
from ias_serve.errors import ConfigurationError

A = TypeVar("A", bound="AppArgs")

ENGINE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


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


class _Engine(AppArgs):
    name: str = Field(pattern=ENGINE_NAME, description="The target a `serve` model mapping names.")
    models: list[str] = Field(
        default_factory=list,
        description="Public model names mapped to this engine when no mapping of that name exists "
        "(`ias up` creates them; an admin's mapping is never overwritten).",
    )


class EchoEngineSpec(_Engine):
    """The fast deterministic engine (echo-model): no weights, answers in microseconds."""

    kind: Literal["echo"]
    num_replicas: int = Field(default=1, ge=1, le=64)
    num_cpus: float = Field(default=0.1, gt=0, le=64)


class LLMEngineSpec(_Engine):
    """A Ray Serve LLM `LLMServer` (vLLM). `llm_config` holds `ray.serve.llm.LLMConfig` fields
    as they are (model_loading_config, engine_kwargs, accelerator_type / accelerator_config,
    deployment_config with autoscaling, placement_group_config, runtime_env,
    experimental_configs). A `model_source` of the form `ias-models://NAME` names a model that
    `ias models prepare` keeps on local disk (ias_serve/stack/models.py)."""

    kind: Literal["llm"]
    llm_config: dict[str, Any]

    @model_validator(mode="after")
    def _has_model(self) -> LLMEngineSpec:
        mlc = self.llm_config.get("model_loading_config")
        if not isinstance(mlc, dict) or not mlc.get("model_id"):
            raise ValueError(f"engine {self.name!r}: llm_config.model_loading_config.model_id is required")
        return self

    @property
    def model_id(self) -> str:
        return str(self.llm_config["model_loading_config"]["model_id"])

    @property
    def model_source(self) -> str:
        mlc = self.llm_config["model_loading_config"]
        return str(mlc.get("model_source") or mlc["model_id"])


EngineSpec = Annotated[EchoEngineSpec | LLMEngineSpec, Field(discriminator="kind")]


class GatewayArgs(AppArgs):
    """`args:` of the gateway app in serve_config.yaml."""

    engines: list[EngineSpec] = Field(default_factory=list)
    metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="A Prometheus port of each replica's own (0: off; the metrics stay on "
        "/v1/metrics). On Kubernetes one replica per pod makes it a per-replica scrape target.",
    )

    @model_validator(mode="after")
    def _unique(self) -> GatewayArgs:
        names = [e.name for e in self.engines]
        if len(set(names)) != len(names):
            raise ValueError(f"engine names must be unique, got {names}")
        models = [validate_model_name(m) for e in self.engines for m in e.models]
        if len(set(models)) != len(models):
            raise ValueError(f"a model name may be mapped by one engine only, got {models}")
        return self

    def model_sources(self) -> list[str]:
        """The `model_source` of every LLM engine (`ias-models://…` ones are prepared locally)."""
        return [e.model_source for e in self.engines if isinstance(e, LLMEngineSpec)]

    def default_models(self) -> tuple[tuple[str, BackendKind, str], ...]:
        """(public name, backend kind, engine) for every name an engine declares."""
        return tuple((m, BackendKind.SERVE, e.name) for e in self.engines for m in e.models)


def app_args(config: Path, app: str) -> dict[str, Any]:
    """The raw `args:` of one application of a serve config file."""
    try:
        doc = yaml.safe_load(config.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigurationError(f"cannot read serve config {config}: {e}") from e
    for entry in (doc or {}).get("applications") or []:
        if entry.get("name") == app:
            return entry.get("args") or {}
    raise ConfigurationError(f"{config}: no application named {app!r}")


def gateway_args(config: Path) -> GatewayArgs:
    return parse_args(GatewayArgs, app_args(config, "gateway"), "gateway")
