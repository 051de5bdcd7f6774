"""`ias up` / `status` / `logs` / `down` as a user runs them: the real CLI, real processes.

It runs on the stack the E2E harness started (tests/e2e/conftest.py: one `ias up` with the real
CPU engines), last and alone (marker ``lifecycle``): it kills, restarts and stops that stack.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import openai
import psutil
import psycopg
import pytest
import yaml
from openai import OpenAI

from ias_serve.stack.embedded import free_port, pid_alive, processes_mentioning, session_members, stop_pid
from ias_serve.stack.state import Paths
from tests.component.gateway_harness import add_model, make_tenant
from tests.e2e.harness.target import REPO, Target, deployed, ias, managed_env

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.stack,
    pytest.mark.llm,
    pytest.mark.lifecycle,
    pytest.mark.timeout(1800),
]


def _answers(sdk: OpenAI, model: str) -> bool:
    try:
        sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        return True
    except (openai.NotFoundError, openai.APIConnectionError):
        return False


def wait_until(cond: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def own_stack(target: Target) -> tuple[Target, dict[str, str]]:
    if deployed():
        pytest.skip(
            "the lifecycle test stops the stack: only on one the harness started (not IAS_E2E_BASE_URL)"
        )
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("the lifecycle test stops the shared stack: not with pytest -n (run it alone)")
    return target, managed_env(target)


def test_up_status_logs_down(own_stack: tuple[Target, dict[str, str]]) -> None:
    target, env = own_stack
    home = Path(env["IAS_HOME"])
    base = target.base_url
    out = target.up_output  # the first `ias up` of this home, run by the harness
    for step in (
        "postgres",
        "valkey",
        "nats",
        "alembic upgrade head",
        "ClickHouse schema",
        "web portal",
        "Ray Serve",
    ):
        assert step in out, f"progress step {step!r} missing:\n{out}"
    assert "local models (smollm2-135m-instruct, all-minilm-l6-v2)" in out, out
    assert "model mappings created: echo-model, test-model, test-embed" in out, out
    # while the engines start, the wait shows what it waits for
    assert "LLMServer:smollm2-135m-instruct: UPDATING" in out, out
    assert f"{base}/v1" in out and f"{base}/api" in out
    # the embedded ClickHouse, readable from outside the recorder (read-only), on the port
    # IAS_CLICKHOUSE_SQL_PORT gave it (the serve config's default is 9467)
    sql = f"http://127.0.0.1:{env['IAS_CLICKHOUSE_SQL_PORT']}"
    assert target.clickhouse_url == f"{sql}/ias" and f"ClickHouse (read-only) {sql}/ias" in out, out
    assert httpx.get(f"{sql}/ping", timeout=10).text == "Ok.\n"
    refused = httpx.post(f"{sql}/", content=b"DROP TABLE usage_events", timeout=10)
    assert refused.status_code == 400 and refused.headers["x-clickhouse-exception-code"] == "164"
    assert "shown only this once" in out, out
    password = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("password"))

    state = json.loads((home / "state.json").read_text())
    procs = state["processes"]
    assert set(procs) == {"postgres", "valkey", "nats", "serve"}
    assert all(pid_alive(p["pid"]) for p in procs.values())
    # each store on a port of its own, none on the standard ones
    ports = [procs[n]["port"] for n in ("postgres", "valkey", "nats")]
    assert len(set(ports)) == 3 and not {5432, 6379, 4222} & set(ports)

    # every HTTP app answers through the Serve ingress, with a request id echoed
    for prefix, name in (("/v1", "gateway"), ("/api", "management"), ("/analytics", "analytics")):
        r = httpx.get(f"{base}{prefix}/health", headers={"X-Request-ID": "e2e-check-1"}, timeout=10)
        assert r.status_code == 200 and r.json()["app"] == name
        assert r.headers.get_list("x-request-id") == ["e2e-check-1"]
    # Serve runs in throughput-optimized mode: HAProxy itself holds the ingress port
    listener = next(
        c.pid
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == int(env["IAS_SERVE_PORT"])
    )
    assert psutil.Process(listener).name() == "haproxy"
    assert str(Paths(home).haproxy) in " ".join(psutil.Process(listener).cmdline())
    # the web portal at / (built by `make test` / `ias up`), client routes falling back to it
    portal = httpx.get(f"{base}/keys", timeout=10)
    assert portal.status_code == 200 and portal.headers["content-type"].startswith("text/html"), portal.text
    assert "frame-ancestors 'none'" in portal.headers["content-security-policy"]
    metrics = httpx.get(f"{base}/api/metrics", timeout=10)
    assert metrics.status_code == 200 and "# TYPE" in metrics.text

    # inference through the ingress: echo-model, mapped by `ias up`, with the official SDK
    # (the key is created in the database until the management API lands)
    tenant = asyncio.run(make_tenant(procs["postgres"]["url"]))
    with OpenAI(base_url=f"{base}/v1", api_key=tenant.key, max_retries=0) as sdk:
        answer = sdk.chat.completions.create(
            model="echo-model", messages=[{"role": "user", "content": "ping pong"}]
        )
        assert answer.choices[0].message.content == "ping pong" and answer.usage.completion_tokens == 2
        streamed = sdk.chat.completions.create(
            model="echo-model", messages=[{"role": "user", "content": "ping pong"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "ping pong"
        # the real engines `ias up` serves by default: SmolLM2 on vLLM CPU, MiniLM embeddings
        real = sdk.chat.completions.create(
            model="test-model", messages=[{"role": "user", "content": "Hi!"}], max_tokens=5, temperature=0
        )
        assert real.model == "smollm2-135m-instruct" and real.usage.completion_tokens == 5
        assert real.choices[0].message.content
        vectors = sdk.embeddings.create(model="test-embed", input=["one", "two"]).data
        assert [len(v.embedding) for v in vectors] == [384, 384]
        # a model mapped to a remote OpenAI-compatible server, through the same ingress
        up_port = free_port()
        upstream = subprocess.Popen(
            [sys.executable, "-m", "tests.support.fake_upstream", "--port", str(up_port), "--tokens", "5"],
            cwd=REPO,
            start_new_session=True,
        )
        try:
            asyncio.run(
                add_model(
                    procs["postgres"]["url"], "remote-model", "remote_url", f"http://127.0.0.1:{up_port}/v1"
                )
            )
            wait_until(lambda: _answers(sdk, "remote-model"), timeout=20)
            chunks = list(
                sdk.chat.completions.create(
                    model="remote-model",
                    messages=[{"role": "user", "content": "hi"}],
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).split() == [
                f"tok{i}" for i in range(5)
            ]
            assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
        finally:
            stop_pid(upstream.pid)

    # the management API through the ingress, as a new team starts: the bootstrapped System
    # Admin logs in, creates an org and invites its Org Admin (no SMTP: the link comes back),
    # who accepts, is logged in and creates an API key
    api = f"{base}/api"
    login = httpx.post(
        f"{api}/auth/login", json={"email": "admin@ias.local", "password": password}, timeout=30
    )
    assert login.status_code == 200, login.text
    root = {"Authorization": f"Bearer {login.json()['token']}"}
    me = httpx.get(f"{api}/auth/me", headers=root, timeout=10).json()
    assert me["user"]["is_system_admin"] is True
    org = httpx.post(f"{api}/org", json={"name": f"team-{free_port()}"}, headers=root, timeout=10)
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    invite = httpx.post(
        f"{api}/org/{org_id}/user",
        json={"email": "lead@example.com", "role": "org_admin"},
        headers=root,
        timeout=30,
    )
    assert invite.status_code == 201 and invite.json()["email"] == "outbox", invite.text
    assert invite.json()["link"].startswith(f"{base}/invite/iasi_")  # the portal of this stack
    invite_token = invite.json()["link"].rsplit("/", 1)[1]
    accepted = httpx.post(
        f"{api}/invite/{invite_token}/accept",
        json={"name": "Team Lead", "password": "correct horse battery staple 42"},
        timeout=30,
    )
    assert accepted.status_code == 200, accepted.text
    token = accepted.json()["token"]
    lead = {"Authorization": f"Bearer {token}"}
    key = httpx.post(f"{api}/org/{org_id}/key", json={"name": "e2e"}, headers=lead, timeout=10)
    assert key.status_code == 201, key.text

    # usage recorded: the new org's requests reach its dashboard (gateway → JetStream →
    # UsageRecorder → chDB → analytics through the recorder's handle), with the exact tokens
    with OpenAI(base_url=f"{base}/v1", api_key=key.json()["key"], max_retries=0) as sdk:
        used = [
            sdk.chat.completions.create(
                model="echo-model", messages=[{"role": "user", "content": text}]
            ).usage
            for text in ("one two three", "four five")
        ]
    done = time.monotonic()
    dashboard = f"{base}/analytics/org/{org_id}?days=1"
    while True:
        totals = httpx.get(dashboard, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()[
            "totals"
        ]
        if totals["requests"] == 2:
            break
        assert time.monotonic() - done < 10, f"usage not visible within 10 s: {totals}"
        time.sleep(0.05)
    print(f"\nfreshness through `ias up`: {(time.monotonic() - done) * 1000:.0f} ms")
    assert (totals["input_tokens"], totals["output_tokens"]) == (
        sum(u.prompt_tokens for u in used),
        sum(u.completion_tokens for u in used),
    )
    # the recorder's own metrics endpoint (serve_config.yaml: metrics_port)
    recorder_metrics = httpx.get("http://127.0.0.1:9466/metrics", timeout=10).text
    assert 'ias_usage_recorder_events_total{outcome="inserted"}' in recorder_metrics

    # the database was migrated and the admin bootstrapped, with an argon2id hash
    with psycopg.connect(procs["postgres"]["url"]) as conn:
        row = conn.execute(
            "SELECT password_hash, is_system_admin FROM users WHERE lower(email) = 'admin@ias.local'"
        ).fetchone()
    assert row is not None and row[1] is True and row[0].startswith("$argon2id$")
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(row[0], password)

    # ClickHouse schema is there (chDB directory under IAS_HOME)
    assert (home / "data" / "clickhouse").is_dir() and any((home / "data" / "clickhouse").iterdir())

    status = ias(["status", "--json"], env)
    assert status.returncode == 0, status.stdout + status.stderr
    health = json.loads(status.stdout)
    assert {h["name"] for h in health} >= {"postgres", "valkey", "nats", "clickhouse", "serve", "app:usage"}
    assert all(h["ok"] for h in health)

    # a second `ias up` is safe: reuses everything, prints no new password
    second = ias(["up"], env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("already running") >= 4
    assert "shown only this once" not in second.stdout
    assert json.loads((home / "state.json").read_text())["processes"] == procs

    logs = ias(["logs", "postgres", "-n", "5"], env)
    assert logs.returncode == 0 and logs.stdout.strip()

    # the Serve launcher dies hard: status says so, and `ias up` cleans up what is left of its
    # session (Ray agents, HAProxy holding the port) and starts it anew
    old_serve = procs["serve"]["pid"]
    os.kill(old_serve, signal.SIGKILL)
    wait_until(lambda: not pid_alive(old_serve))
    assert ias(["status"], env).returncode == 1
    # (restarted with the engines left out: starting vLLM again would only add minutes here)
    echo_only = yaml.safe_load((REPO / "serve_config.yaml").read_text())
    gateway = next(a for a in echo_only["applications"] if a["name"] == "gateway")
    gateway["args"]["engines"] = [e for e in gateway["args"]["engines"] if e["kind"] == "echo"]
    (home / "serve_config.echo.yaml").write_text(yaml.safe_dump(echo_only))
    third = ias(["up"], {**env, "IAS_SERVE_CONFIG": str(home / "serve_config.echo.yaml")})
    assert third.returncode == 0, third.stdout + third.stderr
    assert f"serve: stale record (pid {old_serve}" in third.stdout
    assert session_members(old_serve) == []
    procs = json.loads((home / "state.json").read_text())["processes"]
    assert procs["serve"]["pid"] != old_serve
    assert httpx.get(f"{base}/api/health", timeout=10).status_code == 200

    down = ias(["down"], env)
    assert down.returncode == 0, down.stderr
    assert all(not pid_alive(p["pid"]) for p in procs.values())
    assert processes_mentioning(home) == {}, "ias down left processes behind"
    assert not Paths(home).haproxy.exists()
    assert (home / "data" / "postgres" / "PG_VERSION").exists(), "ias down must keep the data"
    assert ias(["status"], env).returncode == 1
