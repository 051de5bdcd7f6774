"""The Helm chart (kuberay/chart) rendered for each values file and validated offline: core
objects against the Kubernetes schema (strict), the RayService against the vendored KubeRay
schema, ServiceMonitors and Argo CD objects against their CRDs' schemas; then what a reviewer
would check by hand (secrets, security contexts, resources, hooks, dashboards)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.delivery import checkov
from tests.delivery.k8s import (
    CHART,
    CONFIG_REPO,
    HELM,
    ROOT,
    pod_templates,
    render,
    validate,
    validate_with_node,
    values_files,
)

EXPECTED_KINDS = {
    "RayService",
    "Deployment",
    "StatefulSet",
    "Service",
    "Ingress",
    "Job",
    "ConfigMap",
    "NetworkPolicy",
    "ServiceMonitor",
    "ServiceAccount",
    "PodDisruptionBudget",
}
SECRET_ENV = re.compile(r"^IAS_(DATABASE|REDIS|CLICKHOUSE)_URL$|(PASSWORD|TOKEN|SECRET|_KEY)$")


def _containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_helm_lint_passes_for_every_values_file() -> None:
    for values in values_files():
        cmd = [str(HELM), "lint", str(CHART), "--strict"] + (["-f", str(values)] if values else [])
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, f"{values}: {res.stdout}{res.stderr}"


def test_every_values_file_renders_every_kind(renders: dict[str, list[dict[str, Any]]]) -> None:
    assert len(renders) >= 3, "the chart defaults and at least two environments"
    for label, objects in renders.items():
        kinds = {o["kind"] for o in objects}
        assert EXPECTED_KINDS <= kinds, f"{label}: missing {EXPECTED_KINDS - kinds}"
        names = [(o["kind"], o["metadata"]["name"]) for o in objects]
        assert len(names) == len(set(names)), f"{label}: duplicate objects"


def test_every_rendered_object_is_valid_against_its_schema(renders: dict[str, list[dict[str, Any]]]) -> None:
    for label, objects in renders.items():
        problems = {f"{o['kind']}/{o['metadata']['name']}": validate(o) for o in objects}
        assert not {k: v for k, v in problems.items() if v}, f"{label}: {problems}"
        crds = [o for o in objects if o["kind"] == "ServiceMonitor"]
        rc, report = validate_with_node(crds)
        assert rc == 0, f"{label}: {report}"
        assert report.count(": valid") == len(crds)


def test_argo_cd_objects_of_the_config_repository_are_valid() -> None:
    objects = [yaml.safe_load(p.read_text()) for p in sorted(CONFIG_REPO.glob("applications/*.yaml"))]
    assert {o["kind"] for o in objects} == {"Application", "AppProject"}
    rc, report = validate_with_node(objects)
    assert rc == 0, report
    for app in (o for o in objects if o["kind"] == "Application"):
        policy = app["spec"]["syncPolicy"]
        assert policy["automated"] == {"prune": True, "selfHeal": True}, app["metadata"]["name"]
        env = app["metadata"]["labels"]["ias.io/environment"]
        chart, values = app["spec"]["sources"]
        assert chart["path"] == "kuberay/chart"
        assert chart["helm"]["valueFiles"] == [f"$values/environments/{env}/values.yaml"]
        assert values["ref"] == "values"
        assert (CONFIG_REPO / f"environments/{env}/values.yaml").exists()
        assert app["spec"]["destination"]["namespace"] == f"ias-{env}"


def test_the_validators_do_reject_broken_objects(default_render: list[dict[str, Any]]) -> None:
    """A check that cannot fail proves nothing: each validator refuses a broken object."""
    deployment = copy.deepcopy(next(o for o in default_render if o["kind"] == "Deployment"))
    deployment["spec"]["replicass"] = 2
    assert validate(deployment), "an unknown field in a Deployment"

    ray = copy.deepcopy(next(o for o in default_render if o["kind"] == "RayService"))
    ray["spec"]["rayClusterConfig"]["headGroupSpec"]["rayStartParams"]["num-cpus"] = 0
    assert any("num-cpus" in p for p in validate(ray)), "rayStartParams must be strings"
    ray = copy.deepcopy(next(o for o in default_render if o["kind"] == "RayService"))
    ray["spec"]["upgradeStrategy"]["type"] = "Rolling"
    assert validate(ray)
    ray = copy.deepcopy(next(o for o in default_render if o["kind"] == "RayService"))
    ray["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0][
        "imagePull"
    ] = "x"
    assert any("group" in p for p in validate(ray)), "pod templates are checked with the core schema"

    monitor = copy.deepcopy(next(o for o in default_render if o["kind"] == "ServiceMonitor"))
    monitor["spec"]["endpoints"][0]["interval"] = 15
    rc, report = validate_with_node([monitor])
    assert rc == 1 and "interval" in report


def test_no_secret_is_rendered_and_dsns_come_from_secret_refs(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    for label, objects in renders.items():
        assert not [o for o in objects if o["kind"] == "Secret"], f"{label}: secrets.create is off"
        for obj in objects:
            for where, template in pod_templates(obj):
                for c in _containers(template):
                    for env in c.get("env", []):
                        if SECRET_ENV.search(env["name"]):
                            assert "valueFrom" in env and "value" not in env, f"{label} {where}: {env}"


def test_secrets_create_renders_them_only_with_values() -> None:
    with pytest.raises(AssertionError, match=r"secrets\.values\.database is required"):
        render(None, "secrets.create=true")
    objects = render(
        None,
        "secrets.create=true",
        "secrets.values.database=postgresql://u:p@db/ias",
        "secrets.values.redis=redis://r:6379/0",
        "secrets.values.clickhouse=http://ias:pw@ch:8123/ias",
        "secrets.values.clickhousePassword=pw",
    )
    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    assert set(secrets) == {"ias-database", "ias-redis", "ias-clickhouse"}
    assert secrets["ias-clickhouse"]["stringData"] == {"url": "http://ias:pw@ch:8123/ias", "password": "pw"}


def test_every_pod_runs_unprivileged_with_resources(renders: dict[str, list[dict[str, Any]]]) -> None:
    for label, objects in renders.items():
        for obj in objects:
            for where, template in pod_templates(obj):
                pod_security = template["spec"].get("securityContext", {})
                assert pod_security.get("runAsNonRoot") is True, f"{label} {where}"
                assert pod_security.get("runAsUser", 0) != 0, f"{label} {where}"
                for c in _containers(template):
                    sc = c.get("securityContext", {})
                    assert sc.get("allowPrivilegeEscalation") is False, f"{label} {where} {c['name']}"
                    assert sc.get("capabilities", {}).get("drop") == ["ALL"], f"{label} {where} {c['name']}"
                    res = c.get("resources", {})
                    assert res.get("requests") and res.get("limits"), f"{label} {where} {c['name']}"
                    assert {"cpu", "memory"} <= set(res["limits"]), f"{label} {where} {c['name']}"
                    assert ":" in c["image"] and not c["image"].endswith(":latest"), c["image"]


def test_image_tags_come_from_the_values(renders: dict[str, list[dict[str, Any]]]) -> None:
    for env_values in sorted(CONFIG_REPO.glob("environments/*/values.yaml")):
        values = yaml.safe_load(env_values.read_text())
        objects = renders[f"{env_values.parent.name} values"]
        serve_image = f"{values['image']['repository']}:{values['image']['tag']}"
        portal_image = f"{values['portal']['image']['repository']}:{values['portal']['image']['tag']}"
        images = {
            c["image"]
            for o in objects
            for _, t in pod_templates(o)
            for c in _containers(t)
            if "ias" in c["image"]
        }
        assert images == {serve_image, portal_image}, env_values


def test_migrations_run_as_hooks_before_the_new_code(default_render: list[dict[str, Any]]) -> None:
    jobs = {o["metadata"]["name"]: o for o in default_render if o["kind"] == "Job"}
    pg, ch = jobs["ias-migrate-postgres"], jobs["ias-migrate-clickhouse"]
    assert pg["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert ch["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    assert pg["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    assert ch["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PostSync"
    for job, store, env in ((pg, "postgres", "IAS_DATABASE_URL"), (ch, "clickhouse", "IAS_CLICKHOUSE_URL")):
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][:4] == ["python", "-m", "ias_serve.migrate", store]
        assert [e["name"] for e in container["env"] if e["name"].endswith("_URL")] == [env]


def test_grafana_dashboards_plot_metrics_the_code_exports(default_render: list[dict[str, Any]]) -> None:
    maps = [
        o
        for o in default_render
        if o["kind"] == "ConfigMap" and o["metadata"].get("labels", {}).get("grafana_dashboard")
    ]
    dashboards = {name: json.loads(text) for m in maps for name, text in m["data"].items()}
    assert set(dashboards) == {"gateway.json", "budgets.json", "usage-recorder.json"}
    source = "\n".join(p.read_text() for p in (ROOT / "ias_serve").rglob("*.py"))
    exported = set(re.findall(r'"((?:ias_)?(?:gateway|usage)_[a-z_]+)"', source))
    exported |= {f"ias_{n}" for n in exported if not n.startswith("ias_")}
    titles: dict[str, list[str]] = {}
    for name, board in dashboards.items():
        titles[name] = [p["title"] for p in board["panels"]]
        for panel in board["panels"]:
            for target in panel["targets"]:
                for metric in re.findall(r"\b(ias_[a-z_]+)", target["expr"]):
                    base = re.sub(r"_(total|bucket|sum|count)$", "", metric)
                    assert metric in exported or base in exported, f"{name}: {panel['title']}: {metric}"
    text = json.dumps(titles).lower()
    for what in (
        "requests per second",
        "latency",
        "first token",
        "errors",
        "tokens per second",
        "rejections",
        "by organisation",
        "lag",
        "batch size",
    ):
        assert what in text, what


def test_servicemonitors_scrape_every_metrics_endpoint(default_render: list[dict[str, Any]]) -> None:
    services = {o["metadata"]["name"]: o for o in default_render if o["kind"] == "Service"}
    monitors = [o for o in default_render if o["kind"] == "ServiceMonitor"]
    scraped = set()
    for m in monitors:
        match = m["spec"]["selector"]["matchLabels"]
        targets = [
            s for s in services.values() if all(s["metadata"]["labels"].get(k) == v for k, v in match.items())
        ]
        assert len(targets) == 1, m["metadata"]["name"]
        port = targets[0]["spec"]["ports"][0]["port"]
        scraped |= {(port, e["path"]) for e in m["spec"]["endpoints"]}
    assert {
        (8080, "/metrics"),
        (9465, "/metrics"),
        (9466, "/metrics"),
        (8000, "/api/metrics"),
        (8000, "/analytics/metrics"),
        (9363, "/metrics"),
    } <= scraped


def test_otel_collector_exports_traces_to_tempo(default_render: list[dict[str, Any]]) -> None:
    cm = next(
        o
        for o in default_render
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("otel-collector")
    )
    config = yaml.safe_load(cm["data"]["config.yaml"])
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"] and pipeline["exporters"] == ["otlp/tempo"]
    assert "tempo" in config["exporters"]["otlp/tempo"]["endpoint"]
    ray = next(o for o in default_render if o["kind"] == "RayService")
    for where, template in pod_templates(ray):
        env = {e["name"]: e.get("value") for e in template["spec"]["containers"][0]["env"]}
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://ias-otel-collector:4318", where


def test_chart_files_are_yaml_or_json() -> None:
    for path in (CHART / "files").rglob("*"):
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".yaml":
            yaml.safe_load(path.read_text())


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("ray.cpuGroup.gateway.replicas=2", "additional properties 'cpuGroup' not allowed"),
        ("networkPolicy.postgresql.cidr=10.20.0.5", "/networkPolicy/postgresql/cidr"),
        ("ray.upgradeStrategy=Rolling", "/ray/upgradeStrategy"),
        ("nats.replicas=2", "/nats/replicas"),
        ("publicUrl=ias.example.com", "/publicUrl"),
    ],
)
def test_values_schema_refuses_a_mistyped_values_file(bad: str, message: str) -> None:
    """values.schema.json: helm itself refuses a typo or a malformed value before rendering."""
    with pytest.raises(AssertionError, match=re.escape(message)):
        render(None, bad)


# checkov's Kubernetes checks that do not apply to this chart, each with the reason
CHECKOV_K8S_SKIPS = {
    "CKV_K8S_21": "the namespace is Helm's/Argo CD's --namespace (ias-<env>), not written in each object",
    "CKV_K8S_15": "images are immutable tags (sha-<sha>, <version>): IfNotPresent pulls that very build",
    "CKV_K8S_43": "immutable tags written by CI instead of digests; the config repo records which build runs",
    "CKV_K8S_40": "the images' own users: nginx-unprivileged 101, clickhouse 101, Ray 1000, nats 1000",
    "CKV_K8S_35": "IAS reads its DSNs from IAS_* variables (pydantic-settings); they come from secretKeyRefs",
    "CKV_K8S_22": "Ray (session files, object spilling, runtime envs) and ClickHouse write outside their "
    "volumes; the portal, NATS, migrations and the collector run read-only",
}


def test_checkov_kubernetes_checks_pass_on_the_rendered_chart(tmp_path: Path) -> None:
    for values in values_files():
        objects = render(values)
        # checkov does not know the RayService: its pod templates are scanned as Pods
        ray_pods = [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": where.lower().replace(" ", "-")}, **t}
            for o in objects
            if o["kind"] == "RayService"
            for where, t in pod_templates(o)
        ]
        assert len(ray_pods) >= 7
        (tmp_path / "chart.yaml").write_text(yaml.safe_dump_all(objects + ray_pods))
        results = checkov.scan("kubernetes", tmp_path, "--skip-check", ",".join(CHECKOV_K8S_SKIPS))["results"]
        assert len(results["passed_checks"]) > 400, values
        failed = [(c["check_id"], c["check_name"], c["resource"]) for c in results["failed_checks"]]
        assert not failed, f"{values}: {failed}"
