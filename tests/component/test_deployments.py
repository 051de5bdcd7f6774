"""The Serve apps of serve_config.yaml: builder args validated at the boundary, and the apps
running on the shared Ray instance (tests marked `ray`)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from ias_serve.errors import ConfigurationError

CONFIG = Path(__file__).resolve().parents[2] / "serve_config.yaml"


def config_apps() -> list[dict]:
    return yaml.safe_load(CONFIG.read_text())["applications"]


def test_serve_config_is_a_valid_serve_deploy_schema() -> None:
    from ray.serve.schema import ServeDeploySchema

    cfg = ServeDeploySchema.model_validate(yaml.safe_load(CONFIG.read_text()))
    assert {a.name: a.route_prefix for a in cfg.applications} == {
        "gateway": "/v1",
        "management": "/",  # /api + the web portal at /
        "analytics": "/analytics",
        "usage": None,
    }
    # fractional CPUs: everything fits the 8 logical CPUs `ias up` gives Ray
    total = sum(d.ray_actor_options.num_cpus for a in cfg.applications for d in a.deployments)
    assert 0 < total <= 2


@pytest.mark.ray  # building an LLMServer deployment reads Ray's runtime context (it would start Ray)
@pytest.mark.parametrize("app", config_apps(), ids=lambda a: a["name"])
def test_every_builder_accepts_its_config_args(app: dict, local_models: Path, ray_cluster: None) -> None:
    from ray.serve import Application
    from ray.serve._private.utils import import_attr

    built = import_attr(app["import_path"])(app.get("args") or {})
    assert isinstance(built, Application)


@pytest.mark.parametrize(
    ("import_path", "args", "message"),
    [
        ("deployments.gateway:build_app", {"engnes": {}}, "engnes"),
        ("deployments.gateway:build_app", {"engines": [{"name": "e", "kind": "gpt-9"}]}, "kind"),
        ("deployments.usage:build_app", {"batch_size": 0}, "batch_size"),
        ("deployments.usage:build_app", {"max_wait_s": "soon"}, "max_wait_s"),
    ],
)
def test_bad_builder_args_are_refused_with_the_key_named(import_path: str, args: dict, message: str) -> None:
    from ray.serve._private.utils import import_attr

    with pytest.raises(ConfigurationError, match=message):
        import_attr(import_path)(args)


@pytest.mark.ray
def test_apps_serve_health_on_ray(serve_url: str, nats_url: str, tmp_path: Path) -> None:
    from ray import serve

    from deployments import management, usage
    from ias_serve.settings import Settings

    serve.run(management.build_app({}), name="management", route_prefix="/")
    settings = Settings(
        nats_url=nats_url, clickhouse_url=f"chdb://{tmp_path}/ch", usage_stream=f"U{uuid.uuid4().hex}"
    )
    app = usage.UsageRecorder.bind(usage.UsageArgs(batch_size=10), settings)
    handle = serve.run(app, name="usage", route_prefix=None)
    try:
        r = httpx.get(f"{serve_url}/api/health", headers={"X-Request-ID": "ray-test-1"}, timeout=30)
        assert r.status_code == 200 and r.json() == {"status": "ok", "app": "management", "version": "0.1.0"}
        assert r.headers.get_list("x-request-id") == ["ray-test-1"]
        portal = httpx.get(f"{serve_url}/", timeout=30)  # the web portal (or how to build it)
        assert portal.status_code in (200, 503) and portal.headers["x-frame-options"] == "DENY"
        assert handle.check_health.remote().result(timeout_s=30) is None
        apps = serve.status().applications
        assert apps["management"].status == "RUNNING" and apps["usage"].status == "RUNNING"
        status = handle.status.remote().result(timeout_s=30)
        assert status["running"] is True and status["inserted"] == 0
    finally:
        serve.delete("management")
        serve.delete("usage")
