"""serve_config.yaml's gateway args: engine specs, default model mappings, local model sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from ias_serve.domain.model_mappings import BackendKind
from ias_serve.errors import ConfigurationError
from ias_serve.serve_config import (
    EchoEngineSpec,
    GatewayArgs,
    LLMEngineSpec,
    app_args,
    gateway_args,
    parse_args,
)
from ias_serve.stack.models import LOCAL_MODELS, SCHEME, is_ready, local_names, model_path, resolve_source

REPO = Path(__file__).resolve().parents[2]


def llm(name: str, model_id: str = "m", source: str | None = None, models: list[str] | None = None) -> dict:
    mlc = {"model_id": model_id, **({"model_source": source} if source else {})}
    return {"name": name, "kind": "llm", "models": models or [], "llm_config": {"model_loading_config": mlc}}


def test_shipped_configs_parse_and_map_the_public_names() -> None:
    cpu = gateway_args(REPO / "serve_config.yaml")
    assert cpu.default_models() == (
        ("echo-model", BackendKind.SERVE, "echo-model"),
        ("test-model", BackendKind.SERVE, "smollm2-135m-instruct"),
        ("test-embed", BackendKind.SERVE, "all-minilm-l6-v2"),
    )
    assert local_names(cpu.model_sources()) == ["smollm2-135m-instruct", "all-minilm-l6-v2"]
    gpu = gateway_args(REPO / "serve_config.gpu.yaml")
    targets = dict((m, t) for m, _, t in gpu.default_models())
    assert targets["test-model"] == "llama-3-8b-instruct" and targets["llama-3-70b"] == "llama-3-70b-instruct"
    assert targets["test-embed"] == "all-minilm-l6-v2"
    assert local_names(gpu.model_sources()) == []  # Hugging Face ids: nothing to prepare here
    seventy = next(e for e in gpu.engines if e.name == "llama-3-70b-instruct")
    assert (
        isinstance(seventy, LLMEngineSpec)
        and seventy.llm_config["engine_kwargs"]["tensor_parallel_size"] == 4
    )


def test_engine_kinds_and_their_fields() -> None:
    args = parse_args(
        GatewayArgs,
        {"engines": [{"name": "e", "kind": "echo"}, llm("big", "org/model", models=["big-model"])]},
        "gateway",
    )
    echo, big = args.engines
    assert isinstance(echo, EchoEngineSpec) and echo.num_replicas == 1
    assert isinstance(big, LLMEngineSpec) and big.model_id == "org/model" and big.model_source == "org/model"
    assert args.default_models() == (("big-model", BackendKind.SERVE, "big"),)


@pytest.mark.parametrize(
    ("engines", "message"),
    [
        ([{"name": "a", "kind": "echo"}, {"name": "a", "kind": "echo"}], "engine names must be unique"),
        ([llm("a", models=["x"]), llm("b", models=["x"])], "one engine only"),
        ([{"name": "a", "kind": "llm", "llm_config": {}}], "model_id is required"),
        ([{"name": "a", "kind": "vllm"}], "kind"),
        ([{"name": "a", "kind": "echo", "replicas": 2}], "replicas"),  # typo: refused, not ignored
        ([{"name": "bad name", "kind": "echo"}], "name"),
        ([llm("a", models=["not a name"])], "invalid model name"),
    ],
)
def test_invalid_engine_lists_are_refused(engines: list[dict], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_args(GatewayArgs, {"engines": engines}, "gateway")


def test_app_args_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        app_args(tmp_path / "missing.yaml", "gateway")
    (tmp_path / "c.yaml").write_text("applications:\n  - name: other\n")
    with pytest.raises(ConfigurationError, match="no application named 'gateway'"):
        app_args(tmp_path / "c.yaml", "gateway")
    (tmp_path / "d.yaml").write_text("applications:\n  - name: gateway\n")
    assert app_args(tmp_path / "d.yaml", "gateway") == {}


def test_local_model_sources(tmp_path: Path) -> None:
    assert local_names([f"{SCHEME}a", "org/hf", f"{SCHEME}a", f"{SCHEME}b"]) == ["a", "b"]
    assert resolve_source("meta-llama/Llama-3.1-8B-Instruct", tmp_path) == "meta-llama/Llama-3.1-8B-Instruct"
    assert resolve_source("/abs/folder", tmp_path) == "/abs/folder"
    with pytest.raises(ConfigurationError, match="unknown local model"):
        resolve_source(f"{SCHEME}nope", tmp_path)
    # a converted model is ready only once its conversion finished (the marker is written last)
    assert "smollm2-135m-instruct" in LOCAL_MODELS
    folder = model_path("smollm2-135m-instruct", tmp_path)
    assert folder == tmp_path / "smollm2-135m-instruct"
    folder.mkdir()
    with pytest.raises(ConfigurationError, match="ias models prepare"):
        resolve_source(f"{SCHEME}smollm2-135m-instruct", tmp_path)
    (folder / ".ias-ready").write_text("{}")
    assert is_ready("smollm2-135m-instruct", tmp_path)
    assert resolve_source(f"{SCHEME}smollm2-135m-instruct", tmp_path) == str(folder)
