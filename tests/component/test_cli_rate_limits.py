"""`ias-admin limits show | set | ceiling` and `apply -f` with ``rate_limits`` /
``rate_limit_ceiling``, against the real management app over HTTP (the harness of
test_cli_commands.py): people's output, ``--json`` (checked against the API's protocol models),
read-merge-PUT, no write when nothing changes, the exit codes of refusals, and a second
``apply`` that plans nothing."""

from __future__ import annotations

from pathlib import Path

import yaml

from ias_serve.protocol.management.rate_limits import KeyRateLimitsPublic, OrgRateLimitsPublic
from tests.component.cli_support import Cli, Server, invited, tag

UNLIMITED = {"requests_per_minute": None, "tokens_per_minute": None, "max_concurrent_requests": None}


def audited(root: Cli, org: str) -> int:
    return len(root.json("audit", "list", "--org", org, "--action", "rate_limits_changed", "--all")["data"])


# --- limits show | set | ceiling ------------------------------------------------------------------


def test_show_set_and_ceiling_read_merge_put(root: Cli) -> None:
    org = f"rl-{tag()}"
    org_id = root.json("org", "create", org)["id"]
    shown = root.json("limits", "show", org)
    OrgRateLimitsPublic.model_validate(shown)
    assert shown["org_id"] == org_id and shown["limits"] == shown["ceiling"] == UNLIMITED
    assert root.json("limits", "show", org_id)["org_id"] == org_id  # by id as well as by name

    ceiling = root.json("limits", "ceiling", org, "--rpm", "1000", "--tpm", "2M")
    OrgRateLimitsPublic.model_validate({k: v for k, v in ceiling.items() if k != "changed"})
    assert ceiling["changed"] is True
    assert ceiling["ceiling"] == {**UNLIMITED, "requests_per_minute": 1000, "tokens_per_minute": 2_000_000}

    first = root.json("limits", "set", org, "--rpm", "600", "--tpm", "100k")
    assert first["changed"] is True
    assert first["limits"] == {**UNLIMITED, "requests_per_minute": 600, "tokens_per_minute": 100_000}
    # options left out keep their value
    merged = root.json("limits", "set", org, "--concurrency", "4")
    assert merged["limits"] == {
        "requests_per_minute": 600,
        "tokens_per_minute": 100_000,
        "max_concurrent_requests": 4,
    }
    assert merged["effective"] == merged["limits"]
    writes = audited(root, org)
    again = root.json("limits", "set", org, "--rpm", "600", "--tpm", "100000")  # same values
    assert again["changed"] is False and audited(root, org) == writes  # no PUT, no audit row
    r = root.ok("limits", "set", org, "--rpm", "600")
    assert "unchanged" in r.stderr

    out = root.ok("limits", "show", org).stdout
    for text in ("requests / minute", "tokens / minute", "concurrent requests", "ceiling", "effective"):
        assert text in out, out
    assert "100k" in out and "unlimited" in out and "1,000" in out

    unlimited = root.json("limits", "set", org, "--tpm", "unlimited", "--concurrency", "unlimited")
    assert unlimited["limits"] == {**UNLIMITED, "requests_per_minute": 600}
    assert unlimited["effective"]["tokens_per_minute"] == 2_000_000  # capped by the ceiling
    # the ceiling can be lowered below the limits: it caps them
    lowered = root.json("limits", "ceiling", org, "--rpm", "100")
    assert lowered["ceiling"]["tokens_per_minute"] == 2_000_000  # kept
    assert (
        lowered["limits"]["requests_per_minute"] == 600 and lowered["effective"]["requests_per_minute"] == 100
    )


def test_refusals_and_bad_values(server: Server, root: Cli, tmp_path: Path) -> None:
    org = f"rl-bad-{tag()}"
    root.json("org", "create", org)
    root.json("limits", "ceiling", org, "--rpm", "100")
    r = root.fails(1, "limits", "set", org, "--rpm", "5000", code="above_ceiling")
    assert "requests_per_minute" in r.stderr
    assert root.json("limits", "show", org)["limits"] == UNLIMITED

    # refused before any request (exit 2): zero, negative, not a number, nothing to set
    writes = audited(root, org)
    for args in (("--rpm", "0"), ("--tpm", "-5"), ("--concurrency", "1.5"), ("--tpm", "lots")):
        r = root.fails(2, "limits", "set", org, *args)
        assert args[0] in r.stderr or args[0] in r.stdout
    root.fails(2, "limits", "set", org, code="usage")
    root.fails(2, "limits", "ceiling", org, code="usage")
    assert audited(root, org) == writes
    root.fails(1, "limits", "show", f"nope-{tag()}", code="org_not_found")

    # an Org Admin sets the org's limits but not the ceiling; an Org User neither
    admin = invited(server, root, org, "org_admin", tmp_path / "admin")
    assert admin.json("limits", "set", org, "--rpm", "50")["limits"]["requests_per_minute"] == 50
    admin.fails(1, "limits", "ceiling", org, "--rpm", "1000", code="permission_denied")
    user = invited(server, root, org, "org_user", tmp_path / "user")
    assert user.json("limits", "show", org)["limits"]["requests_per_minute"] == 50  # members read them
    user.fails(1, "limits", "set", org, "--rpm", "10", code="permission_denied")


def test_key_limits(server: Server, root: Cli, tmp_path: Path) -> None:
    org = f"rl-key-{tag()}"
    root.json("org", "create", org)
    admin = invited(server, root, org, "org_admin", tmp_path / "admin")
    key = admin.json("key", "create", "--name", "ci")

    shown = admin.json("limits", "show", org, "--key", "ci")  # by name
    KeyRateLimitsPublic.model_validate(shown)
    assert shown["key_id"] == key["id"] and shown["limits"] == UNLIMITED
    set_ = admin.json("limits", "set", org, "--key", key["id"], "--concurrency", "2", "--tpm", "50k")
    assert set_["changed"] is True
    assert set_["limits"] == {**UNLIMITED, "max_concurrent_requests": 2, "tokens_per_minute": 50_000}
    kept = admin.json("limits", "set", org, "--key", key["prefix"], "--rpm", "30")  # by prefix
    assert kept["limits"] == {
        "requests_per_minute": 30,
        "tokens_per_minute": 50_000,
        "max_concurrent_requests": 2,
    }
    assert admin.json("limits", "set", org, "--key", "ci", "--rpm", "30")["changed"] is False
    out = admin.ok("limits", "show", org, "--key", "ci").stdout
    assert f"Rate limits of key {key['id']}" in out and "50,000" in out and "ceiling" not in out
    # the org's own limits are untouched
    assert root.json("limits", "show", org)["limits"] == UNLIMITED

    # a key's limits stay under the org's ceiling too
    root.json("limits", "ceiling", org, "--concurrency", "4")
    admin.fails(1, "limits", "set", org, "--key", "ci", "--concurrency", "8", code="above_ceiling")
    admin.fails(1, "limits", "show", org, "--key", "nope", code="key_not_found")


# --- apply -f with rate_limits -------------------------------------------------------------------


def test_apply_rate_limits_plan_dry_run_apply_and_nothing_the_second_time(root: Cli, tmp_path: Path) -> None:
    t = tag()
    existing, new = f"rl-labs-{t}", f"rl-acme-{t}"
    root.json("org", "create", existing)
    root.json("limits", "set", existing, "--concurrency", "8")
    spec = {
        "orgs": [
            {
                "name": new,
                "rate_limits": {"requests_per_minute": 600, "tokens_per_minute": "100k"},
                "rate_limit_ceiling": {"requests_per_minute": 1000, "tokens_per_minute": "2M"},
            },
            {"name": existing, "rate_limits": {"requests_per_minute": 60, "max_concurrent_requests": 8}},
        ]
    }
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump(spec))
    before = root.json("audit", "list", "--limit", "1")["data"][0]["id"]

    dry = root.json("apply", "-f", str(path), "--dry-run")
    assert [(a["action"], a["target"]) for a in dry["plan"]] == [
        ("create_org", f"org {new}"),
        ("set_rate_limit_ceiling", f"org {new}"),
        ("set_rate_limits", f"org {new}"),
        ("set_rate_limits", f"org {existing}"),
    ]
    assert dry["plan"][3]["params"]["changes"] == {"requests_per_minute": 60}  # 8 is unchanged
    assert dry["applied"] == []
    assert root.json("audit", "list", "--limit", "1")["data"][0]["id"] == before  # nothing written
    human = root.ok("apply", "-f", str(path), "--dry-run").stdout
    assert f"~ org {existing}: rate limits: requests_per_minute unlimited → 60" in human, human
    assert f"~ org {new}: rate limit ceiling: requests_per_minute 1000, tokens_per_minute 2M" in human
    assert "Dry run" in human

    r = root.ok("apply", "-f", str(path))
    assert "Applied 4 change(s)." in r.stdout
    got = root.json("limits", "show", new)
    assert got["limits"] == {**UNLIMITED, "requests_per_minute": 600, "tokens_per_minute": 100_000}
    assert got["ceiling"] == {**UNLIMITED, "requests_per_minute": 1000, "tokens_per_minute": 2_000_000}
    assert root.json("limits", "show", existing)["limits"] == {
        "requests_per_minute": 60,
        "tokens_per_minute": None,
        "max_concurrent_requests": 8,  # left out of the file: kept
    }

    again = root.json("apply", "-f", str(path))
    assert again["changes"] == 0 and again["applied"] == []
    assert "No changes: the platform matches" in root.ok("apply", "-f", str(path)).stdout

    # one value changed in the file: one action; null = unlimited
    spec["orgs"][1]["rate_limits"]["max_concurrent_requests"] = None
    path.write_text(yaml.safe_dump(spec))
    changed = root.json("apply", "-f", str(path))
    assert [a["change"] for a in changed["applied"]] == ["rate limits: max_concurrent_requests 8 → unlimited"]
    assert root.json("limits", "show", existing)["limits"]["max_concurrent_requests"] is None
    assert root.json("apply", "-f", str(path))["changes"] == 0


def test_apply_refuses_bad_rate_limits_before_any_request(server: Server, root: Cli, tmp_path: Path) -> None:
    org = f"rl-file-{tag()}"
    path = tmp_path / "bad.yaml"
    for limits, field in (
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"tokens_per_minute": "lots"}, "tokens_per_minute"),
        ({"max_concurrent_requests": 2.5}, "max_concurrent_requests"),
        ({"rpm": 5}, "rpm"),
    ):
        path.write_text(yaml.safe_dump({"orgs": [{"name": org, "rate_limits": limits}]}))
        r = root.fails(2, "apply", "-f", str(path), code="file")
        assert f"org {org}" in r.stderr and field in r.stderr, r.stderr
    root.fails(1, "org", "show", org)  # nothing was created

    # the ceiling needs a System Admin: refused before anything is read or planned
    root.json("org", "create", org)
    admin = invited(server, root, org, "org_admin", tmp_path / "admin")
    path.write_text(
        yaml.safe_dump({"orgs": [{"name": org, "rate_limit_ceiling": {"requests_per_minute": 5}}]})
    )
    r = admin.fails(1, "apply", "-f", str(path), code="forbidden")
    assert "rate_limit_ceiling" in r.stderr
    # an Org Admin applies the org's limits
    path.write_text(yaml.safe_dump({"orgs": [{"name": org, "rate_limits": {"requests_per_minute": 5}}]}))
    assert admin.json("apply", "-f", str(path))["changes"] == 1
    assert admin.json("apply", "-f", str(path))["changes"] == 0
