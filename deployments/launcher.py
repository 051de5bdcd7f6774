"""Local Ray + Serve launcher used by `ias up` (one process: `ias down` stops it by PID).

    python -m deployments.launcher --config serve_config.yaml --host 127.0.0.1 --port 8000 \
        --num-cpus 8 --status-file .ias/serve_status.json

It starts a private local Ray instance owned by this process (never joins another cluster),
deploys the Serve config exactly as `serve run <config>` does, then writes the status of every
application to ``--status-file`` every second, so that `ias status` needs no Ray client.
SIGTERM/SIGINT shut Serve and Ray down cleanly.

Serve's throughput-optimized mode is chosen by the environment `ias up` passes
(RAY_SERVE_THROUGHPUT_OPTIMIZED=1, RAY_SERVE_ENABLE_HA_PROXY=1).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml


def load_config(path: Path, host: str, port: int) -> Any:
    from ray.serve.schema import ServeDeploySchema

    raw = yaml.safe_load(path.read_text())
    raw.setdefault("http_options", {})
    raw["http_options"].update({"host": host, "port": port})
    return ServeDeploySchema.model_validate(raw)


def _value(status: Any) -> str:
    return str(getattr(status, "value", status))


def app_statuses() -> dict[str, dict[str, Any]]:
    from ray import serve

    st = serve.status()
    return {
        name: {
            "status": _value(app.status),
            "message": app.message or "",
            "deployments": {d: _value(dep.status) for d, dep in app.deployments.items()},
        }
        for name, app in st.applications.items()
    }


def write_status(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deployments.launcher")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--num-cpus", type=int, default=8)
    p.add_argument("--object-store-mb", type=int, default=512)
    p.add_argument("--status-file", type=Path, required=True)
    p.add_argument("--temp-dir", type=Path, default=None)
    a = p.parse_args(argv)

    config = load_config(a.config, a.host, a.port)

    stop = threading.Event()

    def on_signal(*_: object) -> None:
        stop.set()

    import ray
    from ray import serve
    from ray.serve._private import api as serve_private_api
    from ray.serve.config import gRPCOptions

    env = {k: v for k, v in os.environ.items() if k.startswith(("IAS_", "OTEL_", "HF_"))}
    init_kwargs: dict[str, Any] = {
        "address": "local",
        "num_cpus": a.num_cpus,
        "namespace": "serve",
        "include_dashboard": False,
        "object_store_memory": a.object_store_mb * 1024 * 1024,
        "runtime_env": {"env_vars": env},
        "log_to_driver": False,
    }
    if a.temp_dir:
        init_kwargs["_temp_dir"] = str(a.temp_dir)
    ray.init(**init_kwargs)
    # ray.init installs a C++ SIGTERM handler that aborts the process, leaving Ray's agents
    # behind; ours (set after it) shuts Serve and Ray down in order instead.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    try:
        # Same calls as `serve run <config.yaml>` (ray/serve/scripts.py): the public
        # `serve.run` takes one Application, not a multi-app config with overrides.
        client = serve_private_api.serve_start(
            http_options=config.http_options.model_dump(),
            proxy_location=config.proxy_location,
            grpc_options=gRPCOptions(**config.grpc_options.model_dump()),
            controller_options=config.controller_options,
        )
        client.deploy_apps(config, _blocking=False)
        url = f"http://{a.host}:{a.port}"
        gcs = ray.get_runtime_context().gcs_address  # for a second driver (benchmarks, debugging)
        while not stop.is_set():
            try:
                apps = app_statuses()
            except Exception as e:  # controller restarting: report, keep going
                apps = {"_controller": {"status": "UNAVAILABLE", "message": repr(e)}}
            status = {"pid": os.getpid(), "ts": time.time(), "url": url, "gcs_address": gcs, "apps": apps}
            write_status(a.status_file, status)
            stop.wait(1.0)
    finally:
        a.status_file.unlink(missing_ok=True)
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
