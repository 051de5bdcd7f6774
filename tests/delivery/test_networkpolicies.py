"""NetworkPolicy intent: the rendered policies, evaluated with Kubernetes' semantics, allow
exactly the flows the architecture names and deny the rest (each pair below can fail)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.delivery.k8s import External, Flows, Pod, workload_pods

PG = External("postgresql", "10.20.0.5")
REDIS = External("redis", "10.20.1.3")
INTERNET = External("huggingface.co", "18.239.50.1")
PG_PORT, REDIS_PORT, CH_PORT, NATS_PORT = 5432, 6378, 8123, 4222

APPS = ["gateway", "management", "analytics", "usage", "engine"]
EVERYONE = [
    *APPS,
    "ray-head",
    "portal",
    "nats",
    "clickhouse",
    "migrations-postgres",
    "migrations-clickhouse",
    "otel-collector",
]
RAY_PORTS = [6379, 8265, 10001, 10002, 12345, 8000]  # GCS, dashboard, client, worker ports, Serve


@pytest.fixture(scope="module")
def world(default_render: list[dict[str, Any]]) -> tuple[Flows, dict[str, Pod]]:
    policies = [o for o in default_render if o["kind"] == "NetworkPolicy"]
    pods = workload_pods(default_render)
    assert set(EVERYONE) <= set(pods), set(EVERYONE) - set(pods)
    pods["stranger"] = Pod("stranger", {"app": "something-else"}, namespace="other", ip="10.100.9.9")
    pods["ingress"] = Pod("ingress", {"app.kubernetes.io/name": "ingress-nginx"}, namespace="ingress-nginx")
    pods["prometheus"] = Pod("prometheus", {"app.kubernetes.io/name": "prometheus"}, namespace="monitoring")
    return Flows(policies), pods


def _who(world: tuple[Flows, dict[str, Pod]], dst: Pod | External, port: int, sources: list[str]) -> set[str]:
    """Sources allowed to connect; for a pod, its ingress policy must also admit exactly them on
    its own (each side holds the rule, so one side's mistake is caught even when the other side
    would still block it)."""
    flows, pods = world
    allowed = {name for name in sources if flows.allowed(pods[name], dst, port)}
    if isinstance(dst, Pod):
        admitted = {name for name in sources if flows.admits(pods[name], dst, port)}
        outside = {name for name in admitted if pods[name].namespace != flows.namespace}
        assert admitted - outside == allowed - outside, (dst.name, port, admitted, allowed)
    return allowed


def test_default_deny_covers_every_pod(default_render: list[dict[str, Any]]) -> None:
    deny = [o for o in default_render if o["kind"] == "NetworkPolicy" and o["spec"]["podSelector"] == {}]
    assert len(deny) == 1
    assert deny[0]["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert not deny[0]["spec"].get("ingress") and not deny[0]["spec"].get("egress")


def test_engines_accept_only_the_gateway_and_the_ray_control_plane(world) -> None:
    _, pods = world
    for port in RAY_PORTS:
        allowed = _who(world, pods["engine"], port, [*EVERYONE, "stranger", "ingress", "prometheus"])
        # the head (GCS, Serve controller) and other engine pods (tensor-parallel peers) are Ray itself
        assert allowed == {"gateway", "ray-head", "engine"}, (port, allowed)


def test_postgresql_only_from_management_gateway_analytics_and_migrations(world) -> None:
    assert _who(world, PG, PG_PORT, [*EVERYONE, "stranger"]) == {
        "gateway",
        "management",
        "analytics",  # portal sessions are checked against PostgreSQL by the analytics app
        "migrations-postgres",
        "stranger",  # another namespace: not ours to police (its own policies apply)
    }
    assert not _who(world, PG, 5433, EVERYONE), "only the PostgreSQL port"


def test_clickhouse_only_from_usage_and_analytics(world) -> None:
    _, pods = world
    allowed = _who(world, pods["clickhouse"], CH_PORT, [*EVERYONE, "stranger", "ingress", "prometheus"])
    assert allowed == {"usage", "analytics", "migrations-clickhouse"}
    assert _who(world, pods["clickhouse"], 9363, ["prometheus", "gateway"]) == {"prometheus"}


def test_redis_only_from_gateway_management_and_usage(world) -> None:
    assert _who(world, REDIS, REDIS_PORT, EVERYONE) == {"gateway", "management", "usage"}


def test_nats_only_from_gateway_and_usage(world) -> None:
    _, pods = world
    allowed = _who(world, pods["nats"], NATS_PORT, [*EVERYONE, "stranger", "ingress", "prometheus"])
    assert allowed == {"gateway", "usage"}
    assert _who(world, pods["nats"], 6222, EVERYONE) == {"nats"}, "cluster routes between NATS pods"


def test_public_traffic_enters_only_through_the_portal(world) -> None:
    flows, pods = world
    assert flows.allowed(pods["ingress"], pods["portal"], 8080)
    assert not flows.allowed(pods["stranger"], pods["portal"], 8080)
    for name in [n for n in EVERYONE if n != "portal"]:
        for port in (8000, 8080, 4222, 8123):
            assert not flows.allowed(pods["ingress"], pods[name], port), (name, port)
    assert flows.allowed(pods["portal"], pods["ray-head"], 8000)
    assert not flows.allowed(pods["portal"], pods["ray-head"], 6379)
    assert not flows.allowed(pods["portal"], pods["gateway"], 8000)
    assert not flows.allowed(pods["portal"], PG, PG_PORT)


def test_ray_pods_reach_the_head_and_only_engines_reach_the_internet(world) -> None:
    flows, pods = world
    for name in APPS:
        assert flows.allowed(pods[name], pods["ray-head"], 6379), name
        assert flows.allowed(pods["ray-head"], pods[name], 10002), name
    for name in ("portal", "nats", "clickhouse", "migrations-postgres"):
        assert not flows.allowed(pods[name], pods["ray-head"], 6379), name
    assert flows.allowed(pods["engine"], INTERNET, 443)
    assert not flows.allowed(pods["engine"], INTERNET, 80)
    assert not flows.allowed(pods["engine"], PG, PG_PORT), "the internet rule excludes private ranges"
    assert not _who(world, INTERNET, 443, [n for n in EVERYONE if n != "engine"])


def test_management_cannot_reach_engines_clickhouse_or_nats(world) -> None:
    flows, pods = world
    for dst, port in (("engine", 10002), ("clickhouse", CH_PORT), ("nats", NATS_PORT), ("usage", 10002)):
        assert not flows.allowed(pods["management"], pods[dst], port), dst


def test_prometheus_scrapes_only_metrics_ports(world) -> None:
    flows, pods = world
    assert flows.allowed(pods["prometheus"], pods["gateway"], 9465)
    assert flows.allowed(pods["prometheus"], pods["usage"], 9466)
    assert flows.allowed(pods["prometheus"], pods["engine"], 8080)
    assert not flows.allowed(pods["prometheus"], pods["engine"], 10002)
    assert not flows.allowed(pods["prometheus"], pods["gateway"], 8000)


def test_the_evaluator_itself_sees_a_missing_policy() -> None:
    """Without the default deny and with no policy on a pod, everything is allowed: the tests
    above pass because of the rendered policies, not because the evaluator says no."""
    a, b = Pod("a", {"x": "1"}), Pod("b", {"x": "2"})
    assert Flows([]).allowed(a, b, 5432)
    deny = {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    assert not Flows([deny]).allowed(a, b, 5432)
    allow = {
        "spec": {
            "podSelector": {"matchLabels": {"x": "2"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"x": "1"}}}], "ports": [{"port": 5432}]}],
        }
    }
    egress = {
        "spec": {
            "podSelector": {"matchLabels": {"x": "1"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": {"matchLabels": {"x": "2"}}}]}],
        }
    }
    assert Flows([deny, allow, egress]).allowed(a, b, 5432)
    assert not Flows([deny, allow, egress]).allowed(a, b, 5433)
    assert not Flows([deny, allow]).allowed(a, b, 5432), "egress still denied"
