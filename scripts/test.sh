#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run):
#   1. lint and format check (ruff)
#   2. type check (mypy) of the pure core (ias_serve/domain and ias_serve/protocol);
#      unit tests (pure logic) with >= 80% line coverage of ias_serve/domain and ias_serve/protocol;
#      the web portal's type check and Vitest component tests
#   3. the delivery artefacts, offline (tests/delivery): Dockerfiles, the RayService generated
#      from serve_config.gpu.yaml, the Helm chart rendered per values file and validated against
#      the Kubernetes/CRD schemas, NetworkPolicy intent, Terraform (python-hcl2 + checkov),
#      the GitHub workflows (actionlint)
#   4. component and end-to-end tests against real services (embedded PostgreSQL, Valkey, NATS,
#      chDB, a local Ray), started by the tests themselves on free ports; the E2E harness starts
#      one `ias up` stack (real CPU engines) and runs the Happy Path and the Full Regression on it
#      (IAS_TEST_MARKERS narrows this stage, e.g. "not regression" on pull requests)
# pytest's exit code 5 ("no tests ran") is a failure here, like any other non-zero code.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 PYTHONUNBUFFERED=1

run_pytest() {
  local what=$1; shift
  "$VENV/bin/python" -m pytest "$@"
  local rc=$?
  if [ $rc -eq 5 ]; then
    echo "FAIL: $what: no tests were collected (pytest exit code 5)" >&2
    exit 1
  elif [ $rc -ne 0 ]; then
    echo "FAIL: $what (pytest exit code $rc)" >&2
    exit $rc
  fi
}

echo "== lint"
"$VENV/bin/ruff" check . || { echo "FAIL: ruff check" >&2; exit 1; }
"$VENV/bin/ruff" format --check . || { echo "FAIL: ruff format (run: $VENV/bin/ruff format .)" >&2; exit 1; }

echo "== type check (mypy: ias_serve/domain, ias_serve/protocol)"
"$VENV/bin/mypy" || { echo "FAIL: mypy" >&2; exit 1; }

echo "== unit tests (+ coverage of domain and protocol)"
run_pytest "unit tests" tests/unit -q \
  --cov=ias_serve/domain --cov=ias_serve/protocol --cov-report=term-missing:skip-covered \
  --cov-fail-under=80

echo "== web portal: type check and component tests (Vitest)"
(cd portal && npm run --silent typecheck && npm test --silent) || { echo "FAIL: web portal tests" >&2; exit 1; }

echo "== delivery artefacts, offline (Docker, KubeRay, Helm, NetworkPolicies, Terraform, workflows)"
run_pytest "delivery checks" tests/delivery -q -p no:cacheprovider

echo "== component and end-to-end tests (real services; the portal in Chromium)"
markers=()
[ -n "${IAS_TEST_MARKERS:-}" ] && markers=(-m "$IAS_TEST_MARKERS")
run_pytest "component/e2e tests" tests/component tests/e2e "${markers[@]}" -q -rs --durations=10 -p no:cacheprovider

echo "== all test stages passed"
