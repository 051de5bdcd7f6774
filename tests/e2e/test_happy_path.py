"""Happy Path (marker ``happy``: CI and every pull request; issue 8, item 2).

A new team as it starts: the System Admin creates an org and invites an Org User, who accepts,
creates an API key and calls the real CPU vLLM model (``test-model``) through the official SDK,
streaming and not. ClickHouse, read directly, holds the exact tokens of both requests within
10 s. Then everything is removed through the API and PostgreSQL is checked: nothing of the org
is left but its audit trail.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.e2e.harness.api import Tenants, chat, leftovers, sdk
from tests.e2e.harness.stores import ClickHouse, Postgres
from tests.e2e.harness.target import Target
from tests.e2e.harness.trace import Trace
from tests.openai_schema import assert_valid

pytestmark = [pytest.mark.e2e, pytest.mark.happy, pytest.mark.timeout(600)]

USAGE_ROWS = """
    SELECT request_id, client_request_id, org_id, user_id, key_id, model, input_tokens, output_tokens,
           status
    FROM usage_events FINAL
    WHERE org_id = {org:UUID} AND client_request_id IN ({a:String}, {b:String})
    ORDER BY client_request_id
"""


def test_happy_path(
    target: Target, trace: Trace, tenants: Tenants, pg: Postgres, ch: ClickHouse, figure
) -> None:
    started = time.monotonic()
    tenant = tenants.org()
    dev = tenants.member(tenant, "dev", "org_user")
    key = dev.new_key(tenant.id, "happy-path")
    assert key["key"].startswith("ias-") and key["prefix"] == key["key"][: len(key["prefix"])]

    rid_plain, rid_stream = f"e2e-{uuid.uuid4()}", f"e2e-{uuid.uuid4()}"
    with sdk(target, trace, key["key"]) as client:
        answer = chat(client, target.model, "Say hello.", rid_plain, max_tokens=8, temperature=0)
        assert_valid("CreateChatCompletionResponse", answer.model_dump(exclude_unset=True))
        assert answer.choices[0].message.content, answer
        assert answer.usage.prompt_tokens > 0 and 0 < answer.usage.completion_tokens <= 8

        chunks = list(
            chat(
                client,
                target.model,
                "Count to three.",
                rid_stream,
                max_tokens=8,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        for c in chunks:
            assert_valid("CreateChatCompletionStreamResponse", c.model_dump(exclude_unset=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        streamed = chunks[-1].usage
        assert streamed is not None and 0 < streamed.completion_tokens <= 8, chunks[-1]
    done = time.monotonic()

    # ClickHouse, directly: one row per request, with the exact tokens the SDK was told
    rows, waited = ch.wait_for(
        USAGE_ROWS,
        lambda rows: len(rows) == 2,
        timeout=10,
        what="the two requests' usage rows",
        org=tenant.id,
        a=rid_plain,
        b=rid_stream,
    )
    delay = time.monotonic() - done
    figure(f"usage in ClickHouse {delay * 1000:.0f} ms after the last response (polled {waited:.2f} s)")
    by_id = {r["client_request_id"]: r for r in rows}
    # the usage ids are the server's own: never the client's X-Request-ID
    assert {r["request_id"] for r in rows}.isdisjoint({rid_plain, rid_stream}) and len(
        {r["request_id"] for r in rows}
    ) == 2
    for rid, usage in ((rid_plain, answer.usage), (rid_stream, streamed)):
        row = by_id[rid]
        assert (int(row["input_tokens"]), int(row["output_tokens"])) == (
            usage.prompt_tokens,
            usage.completion_tokens,
        ), row
        assert row["status"] == "ok" and row["model"] == target.model
        assert (row["user_id"], row["key_id"]) == (str(dev.id), key["id"])

    # cleanup through the API, proven in PostgreSQL: only the audit trail stays
    assert tenants.cleanup() == [tenant.id]
    assert set(leftovers(pg, tenant.id, [dev.session.email.lower()]).values()) == {0}
    trail = pg.rows("SELECT action_type FROM audit_log WHERE org_id = %(org)s ORDER BY id", org=tenant.id)
    assert [r["action_type"] for r in trail] == [
        "org_created",
        "user_invited",
        "invite_accepted",
        "key_created",
        "org_updated",
        "org_deleted",
    ]
    # the goal (under 60 s once the stack is up) is checked by bench/e2e_happy_path.py
    figure(f"Happy Path took {time.monotonic() - started:.1f} s (stack already up)")
