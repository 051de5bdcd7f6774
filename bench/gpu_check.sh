#!/usr/bin/env bash
# GPU check of the real-engine path: the production gateway → Ray Serve LLM LLMServer → vLLM
# on one NVIDIA GPU, with a small model from local disk. Installs nothing and fetches nothing.
#
#   bash bench/gpu_check.sh            # after `make install` with `vllm==0.29.0` (CUDA) in the venv
#
# Needs: nvidia-smi; a Python (PYTHON, default .venv/bin/python) with this repository installed
# and the CUDA build of vLLM 0.29.0 (`pip install vllm==0.29.0` instead of the cpu-engine extra);
# the model as a local Hugging Face folder: IAS_GPU_CHECK_MODEL=/path/to/folder, or unset to use
# `ias-models://smollm2-135m-instruct` (made by `ias models prepare`).
# It starts the whole stack with `ias up`'s code on bench/gpu_check.serve_config.yaml, then runs
# bench/engines.py: a streaming request and a burst at several concurrencies, through the
# gateway and straight into the engine, printing tokens/s and time-to-first-token.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 PYTHONUNBUFFERED=1

echo "== preflight"
if ! nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; then
  echo "FAIL: no NVIDIA GPU here (nvidia-smi failed)" >&2
  exit 2
fi
"$PY" - <<'PY'
import importlib.util
import sys

need = {"ray": "ray[serve]>=2.60,<2.61", "vllm": "vllm==0.29.0 (CUDA build)", "ias_serve": "this repository"}
missing = [f"{m} ({hint})" for m, hint in need.items() if importlib.util.find_spec(m) is None]
if missing:
    sys.exit("FAIL: not installed in " + sys.executable + ": " + ", ".join(missing))
from vllm.platforms import current_platform  # noqa: E402

if not current_platform.is_cuda():
    sys.exit(f"FAIL: vLLM here is the {current_platform.device_type} build, not CUDA")
import ray, vllm  # noqa: E401,E402

print(f"ok: ray {ray.__version__}, vllm {vllm.__version__} (CUDA), python {sys.version.split()[0]}")
PY

MODEL=${IAS_GPU_CHECK_MODEL:-ias-models://smollm2-135m-instruct}
echo "== model: $MODEL"
echo "== benchmark (gateway vs engine alone; tokens/s and TTFT)"
exec "$PY" -m bench.engines --config bench/gpu_check.serve_config.yaml --model-source "$MODEL" \
  --concurrency 1 16 64 --seconds 15 --max-tokens 128
