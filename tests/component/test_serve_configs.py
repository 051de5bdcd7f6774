"""Both shipped serve configs pass Ray Serve's own schema and Ray Serve LLM's `LLMConfig`, and
every serve config of the repository routes the four apps the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ias_serve.errors import ConfigurationError
from ias_serve.serve_config import LLMEngineSpec, gateway_args

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["serve_config.yaml", "serve_config.gpu.yaml"])
def test_config_validates_with_ray_serve_and_serve_llm(name: str, local_models: Path) -> None:
    from ray.serve.schema import ServeDeploySchema

    from deployments.llm import llm_config

    path = REPO / name
    ServeDeploySchema.model_validate(yaml.safe_load(path.read_text()))
    args = gateway_args(path)
    configs = [llm_config(e, local_models) for e in args.engines if isinstance(e, LLMEngineSpec)]
    assert configs and all(c.model_id for c in configs)
    if name == "serve_config.yaml":  # CPU: local folders, CPU accelerator
        assert all(Path(c.model_loading_config.model_source).is_dir() for c in configs)
        assert {type(c.accelerator_config).__name__ for c in configs} == {"CPUConfig"}
    else:
        assert {c.accelerator_type for c in configs} == {"H100"}


def test_invalid_llm_config_names_the_engine() -> None:
    from deployments.llm import llm_config

    spec = LLMEngineSpec(
        name="broken",
        kind="llm",
        llm_config={"model_loading_config": {"model_id": "m"}, "accelerator_type": "NO-SUCH-GPU"},
    )
    with pytest.raises(ConfigurationError, match="engine 'broken': invalid llm_config"):
        llm_config(spec, Path("/nonexistent"))


@pytest.mark.parametrize(
    "name", ["serve_config.yaml", "serve_config.gpu.yaml", "bench/gpu_check.serve_config.yaml"]
)
def test_every_config_routes_the_apps_alike(name: str) -> None:
    """The management app serves `/api` *inside* (and the portal at `/`): under another route
    prefix its API would move (e.g. to `/api/api`)."""
    apps = yaml.safe_load((REPO / name).read_text())["applications"]
    assert {a["name"]: a["route_prefix"] for a in apps} == {
        "gateway": "/v1",
        "management": "/",
        "analytics": "/analytics",
        "usage": None,
    }
