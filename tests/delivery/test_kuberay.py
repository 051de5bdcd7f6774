"""The RayService: serveConfigV2 is serve_config.gpu.yaml plus the Kubernetes placement (one
source of truth), the head runs no replicas, every replica has a worker group to land on, engines
land only on GPU pods; autoscaling, upgrade strategy, probes and resources are set."""

from __future__ import annotations

import copy
import importlib.util
import json
from typing import Any

import pytest
import yaml

from tests.delivery.k8s import ROOT

spec = importlib.util.spec_from_file_location("gen_serve_config", ROOT / "kuberay/gen_serve_config.py")
assert spec and spec.loader
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)


def _rayservice(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (ray,) = [o for o in objects if o["kind"] == "RayService"]
    return ray


def _strip_placement(config: dict[str, Any]) -> dict[str, Any]:
    """Undo exactly what the generator adds, so the rest can be compared with the source."""
    config = copy.deepcopy(config)
    for app in config["applications"]:
        kept = []
        for d in app.get("deployments", []):
            options = d.get("ray_actor_options", {})
            options.get("resources", {}).pop(gen.PLACEMENT[app["name"]][0], None)
            if options.get("resources") == {}:
                del options["resources"]
            d.pop("max_replicas_per_node", None)
            if d["name"].startswith("EchoEngine:") and options == {"num_cpus": gen.ECHO_ENGINE_CPUS}:
                continue  # added by the generator for the echo engines
            kept.append(d)
        app["deployments"] = kept
    return config


def test_generated_serve_config_is_up_to_date() -> None:
    assert gen.main(["--check"]) == 0, "run: python kuberay/gen_serve_config.py"


def test_the_rayservice_serves_the_generated_config(renders: dict[str, list[dict[str, Any]]]) -> None:
    generated = yaml.safe_load(gen.TARGET.read_text())
    for label, objects in renders.items():
        served = yaml.safe_load(_rayservice(objects)["spec"]["serveConfigV2"])
        assert served == generated, label


def test_generated_config_is_the_source_plus_placement_only() -> None:
    source = yaml.safe_load((ROOT / "serve_config.gpu.yaml").read_text())
    generated = yaml.safe_load(gen.TARGET.read_text())
    assert generated["proxy_location"] == "HeadOnly"
    assert generated["http_options"]["port"] == 8000
    for key in ("proxy_location", "http_options"):
        source.pop(key, None)
        generated.pop(key)
    assert _strip_placement(generated) == _strip_placement(source)
    assert [a["name"] for a in generated["applications"]] == [a["name"] for a in source["applications"]]
    # a change to the source shows up as a difference (the check above can fail)
    changed = copy.deepcopy(source)
    changed["applications"][0]["args"]["engines"][0]["models"].append("another-model")
    assert _strip_placement(gen.kubernetes_serve_config(changed)) != _strip_placement(generated)


def test_generator_refuses_an_application_without_a_worker_group() -> None:
    source = yaml.safe_load((ROOT / "serve_config.gpu.yaml").read_text())
    source["applications"].append({"name": "billing", "import_path": "x:y", "route_prefix": "/billing"})
    with pytest.raises(ValueError, match="billing"):
        gen.kubernetes_serve_config(source)


def test_every_cpu_replica_has_exactly_one_worker_group_to_land_on(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    for label, objects in renders.items():
        ray = _rayservice(objects)
        served = yaml.safe_load(ray["spec"]["serveConfigV2"])
        advertised: dict[str, str] = {}
        for group in ray["spec"]["rayClusterConfig"]["workerGroupSpecs"]:
            params = group["rayStartParams"]
            if "resources" in params:
                for name in json.loads(json.loads(params["resources"])):
                    assert name not in advertised, f"{label}: {name} advertised twice"
                    advertised[name] = group["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        for app in served["applications"]:
            for d in app["deployments"]:
                resources = d.get("ray_actor_options", {}).get("resources", {})
                assert len(resources) == 1, f"{label}: {app['name']}/{d['name']} is not pinned"
                (name,) = resources
                assert advertised.get(name) == app["name"], f"{label}: {d['name']} -> {name}"


def test_head_runs_no_replicas_and_engines_only_on_gpu_pods(renders: dict[str, list[dict[str, Any]]]) -> None:
    for label, objects in renders.items():
        cluster = _rayservice(objects)["spec"]["rayClusterConfig"]
        head = cluster["headGroupSpec"]
        assert head["rayStartParams"]["num-cpus"] == "0", label
        assert head["template"]["spec"]["nodeSelector"] == {"ias.io/pool": "cpu"}
        gpu_groups = [
            g
            for g in cluster["workerGroupSpecs"]
            if g["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "engine"
        ]
        cpu_groups = [g for g in cluster["workerGroupSpecs"] if g not in gpu_groups]
        assert gpu_groups and {g["groupName"] for g in cpu_groups} == {
            "gateway",
            "management",
            "analytics",
            "usage",
        }
        for g in gpu_groups:
            pod = g["template"]["spec"]
            res = pod["containers"][0]["resources"]
            assert (
                int(res["limits"]["nvidia.com/gpu"]) >= 1
                and res["requests"]["nvidia.com/gpu"] == res["limits"]["nvidia.com/gpu"]
            )
            assert pod["nodeSelector"] == {"ias.io/pool": "gpu"}
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
                "tolerations"
            ]
            assert "resources" not in g["rayStartParams"], "engines ask for GPUs, not a placement resource"
            assert any(v.get("emptyDir", {}).get("medium") == "Memory" for v in pod["volumes"]), (
                "/dev/shm for NCCL"
            )
        for g in cpu_groups:
            pod = g["template"]["spec"]
            assert pod["nodeSelector"] == {"ias.io/pool": "cpu"}
            assert "nvidia.com/gpu" not in pod["containers"][0]["resources"]["limits"]
        # the 70B engine needs 4 GPUs on one node (STRICT_PACK): a group offers them
        assert (
            max(
                int(g["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"])
                for g in gpu_groups
            )
            >= 4
        )


def test_autoscaling_upgrade_strategy_and_probes(renders: dict[str, list[dict[str, Any]]]) -> None:
    for label, objects in renders.items():
        ray = _rayservice(objects)
        spec = ray["spec"]
        cluster = spec["rayClusterConfig"]
        assert spec["upgradeStrategy"] == {"type": "NewCluster"}, label
        assert cluster["enableInTreeAutoscaling"] is True
        assert cluster["autoscalerOptions"]["version"] == "v2"
        assert cluster["rayVersion"] == "2.60.0"
        for g in cluster["workerGroupSpecs"]:
            assert 0 <= g["minReplicas"] <= g["replicas"] <= g["maxReplicas"], f"{label}: {g['groupName']}"
            if g["groupName"] != "usage":
                assert g["maxReplicas"] > g["minReplicas"], f"{label}: {g['groupName']} cannot scale"
        for template in [
            cluster["headGroupSpec"]["template"],
            *(g["template"] for g in cluster["workerGroupSpecs"]),
        ]:
            c = template["spec"]["containers"][0]
            assert "local_raylet_healthz" in " ".join(c["readinessProbe"]["exec"]["command"])
            assert c["livenessProbe"]["failureThreshold"] > c["readinessProbe"]["failureThreshold"]
        head = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]
        assert "gcs_healthz" in " ".join(head["readinessProbe"]["exec"]["command"])


def test_generated_config_is_a_valid_serve_deploy_config() -> None:
    """Ray's own schema of `serve deploy` configs accepts what KubeRay will submit."""
    from ray.serve.schema import ServeDeploySchema

    config = ServeDeploySchema.model_validate(yaml.safe_load(gen.TARGET.read_text()))
    gateway = next(a for a in config.applications if a.name == "gateway")
    ingress = next(d for d in gateway.deployments if d.name == "GatewayIngress")
    assert ingress.max_replicas_per_node == 1
    assert ingress.ray_actor_options.resources == {"ias_gateway": gen.SLIVER}


def test_pod_annotations_reach_every_ray_pod_to_roll_the_cluster() -> None:
    from tests.delivery.k8s import pod_templates, render

    objects = render(None, "ray.podAnnotations.ias\\.io/restarted-at=2026-11-28")
    templates = list(pod_templates(_rayservice(objects)))
    assert len(templates) == 7
    for where, template in templates:
        assert template["metadata"]["annotations"]["ias.io/restarted-at"] == "2026-11-28", where


# GKE accelerator names of the Ray accelerator types the serve config may ask for
GKE_ACCELERATORS = {
    "H100": {"nvidia-h100-80gb", "nvidia-h100-mega-80gb"},
    "L4": {"nvidia-l4"},
    "A100": {"nvidia-tesla-a100", "nvidia-a100-80gb"},
}


def _gpu_pools() -> dict[str, dict[str, Any]]:
    """Each environment's GPU node pool as terraform/platform/main.tf builds it (the shared
    `local.gpu_node` merged with the environment's `gpu` settings)."""
    from tests.delivery.hcl import load

    locals_ = {
        k: v for block in load(ROOT / "terraform/platform/main.tf")["locals"] for k, v in block.items()
    }
    return {env: {**locals_["gpu_node"], **s["gpu"]} for env, s in locals_["environments"].items()}


def test_gpu_pools_serve_configs_and_chart_agree(renders: dict[str, list[dict[str, Any]]]) -> None:
    """What the engines ask for exists: the accelerator type of every LLM engine is the GPU
    pool's, each engine's GPUs fit one pod of a GPU group, and each GPU pod fits one node."""
    served = yaml.safe_load(gen.TARGET.read_text())
    engines = [e for e in served["applications"][0]["args"]["engines"] if e["kind"] == "llm"]
    pools = _gpu_pools()
    assert set(pools) == {"staging", "production"}
    for env, pool in pools.items():
        for engine in engines:
            llm = engine["llm_config"]
            assert pool["accelerator_type"] in GKE_ACCELERATORS[llm["accelerator_type"]], (
                env,
                engine["name"],
            )
        objects = renders[f"{env} values"]
        groups = [
            g
            for g in _rayservice(objects)["spec"]["rayClusterConfig"]["workerGroupSpecs"]
            if g["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "engine"
        ]
        per_pod = [
            int(g["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"])
            for g in groups
        ]
        assert max(per_pod) <= pool["accelerator_count"], f"{env}: a GPU pod needs more GPUs than a node has"
        for engine in engines:
            tp = engine["llm_config"].get("engine_kwargs", {}).get("tensor_parallel_size", 1)
            assert any(n >= tp for n in per_pod), f"{env}: {engine['name']} needs {tp} GPUs in one pod"
