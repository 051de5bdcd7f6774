"""The requirements' story through `ias-admin` only (issue 7, item 6), end to end on real services:

the bootstrapped System Admin logs in, creates an org and invites its Org Admin (link from the
answer), who accepts through the CLI and invites a user, who accepts, logs in, creates a key and
calls inference with it through the official ``openai`` SDK; the usage then shows in
``ias-admin usage me`` (and in the org's and the system's dashboards).

In-process, like the deployment: the gateway (uvicorn thread) publishes the usage event to NATS
JetStream, the UsageRecorder (its own event loop in a thread) stores it in chDB, and the
analytics app (next to the management app in one Starlette root) reads it back.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import openai
import pytest

from ias_serve.analytics.store import UsageStore
from ias_serve.queue.consumer import ConsumerSettings, UsageConsumer
from ias_serve.services.usage_recorder import RecorderConfig, UsageRecorderService
from tests.component.cli_support import PASSWORD, Cli, Server, ch_database, file_mode, running_server
from tests.component.gateway_harness import Gateway, running_gateway


@pytest.fixture(scope="module")
def gw(database_url: str, redis_url: str, nats_url: str) -> Iterator[Gateway]:
    with running_gateway(database_url, redis_url, nats_url) as g:
        yield g


@pytest.fixture(scope="module")
def ch(clickhouse_dsn: str) -> Iterator[str]:
    with ch_database(clickhouse_dsn) as dsn:
        yield dsn


class RecorderThread:
    """The UsageRecorder on an event loop of its own (the CLI blocks the test's thread)."""

    def __init__(self, recorder: UsageRecorderService) -> None:
        self.recorder = recorder
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=60)

    def __enter__(self) -> RecorderThread:
        self.thread.start()
        self.call(self.recorder.start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call(self.recorder.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=20)
            self.loop.close()


@pytest.fixture(scope="module")
def recorder(gw: Gateway, nats_url: str, ch: str) -> Iterator[RecorderThread]:
    t = uuid.uuid4().hex[:10]
    consumer = UsageConsumer(
        nats_url,
        ConsumerSettings(
            stream=gw.stream,
            subject=gw.subject,
            durable=f"cli-{t}",
            dlq_stream=f"DLQ_CLI_{t}",
            dlq_subject=f"usage.dlq.cli.{t}",
        ),
    )
    rec = UsageRecorderService(
        consumer=consumer,
        store=UsageStore(ch),
        config=RecorderConfig(batch_size=100, max_wait_s=0.2, lag_interval_s=0.5, retry_max_s=0.5),
    )
    with RecorderThread(rec) as r:
        yield r


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, ch: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running_server(database_url, redis_url, ch, tmp_path_factory.mktemp("home")) as s:
        yield s


def wait_for_usage(cli: Cli, args: tuple[str, ...], requests: int, within: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        data = cli.json(*args)
        if data["totals"]["requests"] >= requests or time.monotonic() > deadline:
            return data
        time.sleep(0.3)


def test_admin_org_admin_user_key_inference_usage(
    server: Server, gw: Gateway, recorder: RecorderThread, tmp_path_factory: pytest.TempPathFactory
) -> None:
    t = uuid.uuid4().hex[:6]
    homes = tmp_path_factory.mktemp("homes")

    # the System Admin (bootstrapped like `ias up` does) logs in and creates the org
    root = Cli(homes / "root", server.url)
    root.login(server.admin_email, server.admin_password)
    assert file_mode(root.credentials) == 0o600
    org = root.json("org", "create", f"acme-{t}", "--budget", "1M")
    assert org["created"] is True

    # ... and invites its Org Admin; without SMTP the answer carries the accept link
    ada_email = f"ada-{t}@example.com"
    sent = root.json("user", "invite", ada_email, "--org", org["name"], "--role", "org_admin")
    assert sent["email"] == "outbox" and sent["link"].startswith(server.url + "/invite/iasi_")

    # the Org Admin accepts through the CLI (which logs her in) and invites a user
    ada = Cli(homes / "ada", server.url)
    accepted = ada.json(
        "invite", "accept", sent["link"], "--name", "Ada Lovelace", "--password-stdin", input=PASSWORD
    )
    assert accepted["role"] == "org_admin" and accepted["org_id"] == org["id"]
    assert ada.json("whoami")["memberships"][0]["role"] == "org_admin"
    grace_email = f"grace-{t}@example.com"
    link = ada.json("user", "invite", grace_email)["link"]  # her only org: no --org needed

    # the user accepts (prompted for name and password), then logs in again later
    grace = Cli(homes / "grace", server.url)
    grace.ok("invite", "accept", link, input=f"Grace Hopper\n{PASSWORD}\n{PASSWORD}\n")
    grace.ok("logout")
    grace.fails(3, "whoami", code="not_logged_in")
    r = grace.ok("login", "--email", grace_email, input=PASSWORD + "\n")  # URL kept by the profile
    assert f"as {grace_email} (member)" in r.stdout

    # ... creates a key (printed once, alone on stdout) and calls inference with the SDK
    key = grace.ok("key", "create", "--name", "notebook").stdout.strip()
    assert key.startswith("ias-")
    client = openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0, timeout=30)
    try:
        reply = client.chat.completions.create(
            model="echo-model", messages=[{"role": "user", "content": "The capital of France is Paris."}]
        )
    finally:
        client.close()
    assert reply.usage is not None
    used = reply.usage.prompt_tokens + reply.usage.completion_tokens

    # the usage shows in `ias-admin usage me` (gateway → NATS → recorder → chDB → analytics)
    mine = wait_for_usage(grace, ("usage", "me"), 1)
    assert mine["totals"]["requests"] == 1, mine["totals"]
    assert mine["totals"]["total_tokens"] == used
    assert [(k["name"], k["requests"]) for k in mine["by_key"]] == [("notebook", 1)]
    assert [(m["model"], m["total_tokens"]) for m in mine["by_model"]] == [("echo-model", used)]
    assert mine["daily"][-1]["total_tokens"] == used  # today
    human = grace.ok("usage", "me").stdout
    assert "notebook" in human and "echo-model" in human and "Daily tokens" in human and "█" in human

    # the org's dashboard (the Org Admin) and the system's (the System Admin) count it too
    org_usage = ada.json("usage", "org")
    assert org_usage["totals"]["requests"] == 1 and org_usage["mine"]["requests"] == 0
    assert [(u["email"], u["total_tokens"]) for u in org_usage["by_user"]] == [(grace_email, used)]
    assert org_usage["budget"]["limit"] == 1_000_000 and org_usage["budget"]["used"] == used
    assert root.json("usage", "system")["totals"]["requests"] >= 1
    assert f"Usage of {org['name']}" in ada.ok("usage", "org", "--days", "7").stdout

    # the Org Admin revokes the key; the audit log tells the whole story
    ada.ok("key", "revoke", "notebook")
    actions = [e["action_type"] for e in root.json("audit", "list", "--org", org["id"], "--all")["data"]]
    for action in ("org_created", "user_invited", "invite_accepted", "key_created", "key_revoked"):
        assert action in actions, actions
