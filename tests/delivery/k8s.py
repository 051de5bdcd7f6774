"""Rendering and validating the Kubernetes side of the delivery artefacts, offline.

* :func:`render` runs ``helm template`` (helm comes from ``make delivery-tools``);
* :func:`validate` checks one object: core kinds against the Kubernetes OpenAPI schema carried
  by ``kubernetes-validate`` (strict: unknown fields are errors), the RayService against
  ``kuberay/schemas/rayservice-ray.io-v1.json`` plus each pod template against the Kubernetes
  ``PodTemplateSpec``, ServiceMonitor / Argo CD kinds with ``deploy/tools/validate-crds.cjs``;
* :class:`Flows` evaluates NetworkPolicies the way Kubernetes does, for the intent tests.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "kuberay/chart"
TOOLS = ROOT / "deploy/tools"
HELM = TOOLS / ".bin/helm"
RAYSERVICE_SCHEMA = ROOT / "kuberay/schemas/rayservice-ray.io-v1.json"
CONFIG_REPO = ROOT / "kuberay/argocd/config-repo"
KUBERNETES_VERSION = "1.33.0"  # GKE's regular channel (terraform/)
NODE_VALIDATED = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "AppProject"),
}
MISSING_TOOLS = "run `make delivery-tools` (helm, actionlint, the CRD validators, checkov)"


def values_files() -> list[Path | None]:
    """The chart's defaults (None) and every environment of the example config repository."""
    return [None, *sorted(CONFIG_REPO.glob("environments/*/values.yaml"))]


def render(values: Path | None = None, *sets: str, release: str = "ias") -> list[dict[str, Any]]:
    if not HELM.exists():
        raise AssertionError(f"{HELM.relative_to(ROOT)} is missing: {MISSING_TOOLS}")
    cmd = [str(HELM), "template", release, str(CHART), "--namespace", "ias-test"]
    if values is not None:
        cmd += ["-f", str(values)]
    for s in sets:
        cmd += ["--set", s]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise AssertionError(f"helm template failed:\n{res.stderr}")
    return [d for d in yaml.safe_load_all(res.stdout) if d]


@cache
def _rayservice_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(RAYSERVICE_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def pod_templates(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, PodTemplateSpec) of every workload kind the chart renders."""
    kind, spec = obj["kind"], obj.get("spec", {})
    if kind in ("Deployment", "StatefulSet", "Job"):
        yield f"{kind}/{obj['metadata']['name']}", spec["template"]
    elif kind == "RayService":
        cluster = spec["rayClusterConfig"]
        yield "RayService head", cluster["headGroupSpec"]["template"]
        for group in cluster.get("workerGroupSpecs", []):
            yield f"RayService group {group['groupName']}", group["template"]


def validate(obj: dict[str, Any]) -> list[str]:
    """Problems of one object (empty when valid); objects of NODE_VALIDATED kinds are checked
    in bulk by :func:`validate_with_node`."""
    kind = obj.get("kind")
    if kind == "RayService":
        problems = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in _rayservice_validator().iter_errors(obj)
        ]
        for where, template in pod_templates(obj):
            wrapped = {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": "t"},
                "template": template,
            }
            problems += [f"{where}: {p}" for p in _core(wrapped)]
        return problems
    if (obj.get("apiVersion"), kind) in NODE_VALIDATED:
        return []
    return _core(obj)


def _core(obj: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        return [f"{'/'.join(map(str, e.path))}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError as e:
        return [f"no Kubernetes schema for {obj.get('apiVersion')}/{obj.get('kind')}: {e}"]
    return []


def validate_with_node(objects: Iterable[dict[str, Any]]) -> tuple[int, str]:
    """(exit code, report) of deploy/tools/validate-crds.cjs over ``objects``."""
    script = TOOLS / "validate-crds.cjs"
    node = shutil.which("node")
    if node is None or not (TOOLS / "node_modules/@kubernetes-models").exists():
        raise AssertionError(f"node or deploy/tools/node_modules is missing: {MISSING_TOOLS}")
    res = subprocess.run(
        [node, str(script)], input=json.dumps(list(objects)), capture_output=True, text=True, timeout=60
    )
    return res.returncode, res.stdout + res.stderr


# --- NetworkPolicy semantics ------------------------------------------------------------------


@dataclass(frozen=True)
class Pod:
    name: str
    labels: dict[str, str]
    namespace: str = "ias-test"
    namespace_labels: dict[str, str] = field(default_factory=dict)
    ip: str = "10.100.0.10"

    def ns_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


@dataclass(frozen=True)
class External:
    """An address outside the cluster (a managed database, the internet)."""

    name: str
    ip: str


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer: dict[str, Any], other: Pod | External, policy_ns: str) -> bool:
    if "ipBlock" in peer:
        if isinstance(other, Pod):
            return False  # pod traffic is matched by selectors (ipBlock is for cluster-external IPs)
        ip = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        if ip not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(ip in ipaddress.ip_network(x) for x in block.get("except", []))
    if isinstance(other, External):
        return False
    if "namespaceSelector" in peer:
        if not _matches(peer["namespaceSelector"], other.ns_labels()):
            return False
    elif other.namespace != policy_ns:
        return False
    return _matches(peer.get("podSelector"), other.labels) if "podSelector" in peer else True


def _port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        if "port" not in p:
            return True
        if not isinstance(p["port"], int):
            raise AssertionError(f"named ports are not evaluated here: {p}")
        if p["port"] <= port <= p.get("endPort", p["port"]):
            return True
    return False


class Flows:
    """Whether a connection is allowed under a set of NetworkPolicies (all in one namespace)."""

    def __init__(self, policies: list[dict[str, Any]], namespace: str = "ias-test") -> None:
        self.policies = policies
        self.namespace = namespace

    def _selecting(self, pod: Pod, policy_type: str) -> list[dict[str, Any]]:
        if pod.namespace != self.namespace:
            return []
        return [
            p
            for p in self.policies
            if policy_type in p["spec"].get("policyTypes", ["Ingress"])
            and _matches(p["spec"]["podSelector"], pod.labels)
        ]

    def _egress_ok(self, src: Pod, dst: Pod | External, port: int, protocol: str) -> bool:
        policies = self._selecting(src, "Egress")
        if not policies:
            return True
        return any(
            _port_matches(rule.get("ports"), port, protocol)
            and (not rule.get("to") or any(_peer_matches(peer, dst, self.namespace) for peer in rule["to"]))
            for p in policies
            for rule in p["spec"].get("egress") or []
        )

    def _ingress_ok(self, src: Pod | External, dst: Pod, port: int, protocol: str) -> bool:
        policies = self._selecting(dst, "Ingress")
        if not policies:
            return True
        return any(
            _port_matches(rule.get("ports"), port, protocol)
            and (
                not rule.get("from") or any(_peer_matches(peer, src, self.namespace) for peer in rule["from"])
            )
            for p in policies
            for rule in p["spec"].get("ingress") or []
        )

    def admits(self, src: Pod | External, dst: Pod, port: int, protocol: str = "TCP") -> bool:
        """The destination's ingress side alone (whatever the source's egress policies say)."""
        return self._ingress_ok(src, dst, port, protocol)

    def allowed(self, src: Pod | External, dst: Pod | External, port: int, protocol: str = "TCP") -> bool:
        egress = self._egress_ok(src, dst, port, protocol) if isinstance(src, Pod) else True
        ingress = self._ingress_ok(src, dst, port, protocol) if isinstance(dst, Pod) else True
        return egress and ingress


def workload_pods(objects: list[dict[str, Any]]) -> dict[str, Pod]:
    """One Pod per component, with the labels its rendered template gives it."""
    pods: dict[str, Pod] = {}
    for obj in objects:
        for where, template in pod_templates(obj):
            labels = template.get("metadata", {}).get("labels", {})
            component = labels.get("app.kubernetes.io/component")
            if component is None:
                raise AssertionError(f"{where}: pod template without app.kubernetes.io/component")
            pods.setdefault(component, Pod(component, dict(labels)))
    return pods
