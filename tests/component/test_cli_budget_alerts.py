"""`ias-admin budget alerts show | set` and `apply -f` with ``budget_alerts``, against the real
management app over HTTP (the harness of test_cli_commands.py): people's output, ``--json``,
read-merge-PUT, no write when nothing changes, the webhook signing secret printed exactly once,
the exit codes of refusals, and a second ``apply`` that plans nothing."""

from __future__ import annotations

from pathlib import Path

import yaml

from ias_serve.protocol.management.budget_alerts import BudgetAlertsPublic, BudgetAlertsWithSecret
from tests.component.cli_support import Cli, Server, invited, tag

HOOK = "https://hooks.example.com/ias"
OTHER_HOOK = "http://alerts.example.net:8080/budget"


def writes(root: Cli, org: str) -> int:
    """The org's audit rows (a write the CLI makes leaves one)."""
    return len(root.json("audit", "list", "--org", org, "--all")["data"])


# --- budget alerts show | set ---------------------------------------------------------------------


def test_show_set_merge_and_unchanged(root: Cli) -> None:
    org = f"ba-{tag()}"
    org_id = root.json("org", "create", org, "--budget", "1M")["id"]
    shown = root.json("budget", "alerts", "show", org)
    assert shown["org_id"] == org_id and root.json("budget", "alerts", "show", org_id)["org_id"] == org_id
    assert isinstance(shown["thresholds"], list) and shown["alerts"] == []
    assert shown["webhook_url"] is None and shown["webhook_secret_set"] is False
    assert "webhook_secret" not in shown
    BudgetAlertsPublic.model_validate(shown)

    first = root.json("budget", "alerts", "set", org, "--thresholds", "100,50,80")
    assert first["changed"] is True and first["thresholds"] == [50, 80, 100]
    assert first["webhook_url"] is None and "webhook_secret" not in first

    # the first webhook URL: a secret is generated and returned this once; thresholds are kept
    hooked = root.json("budget", "alerts", "set", org, "--webhook", HOOK)
    assert hooked["changed"] is True and hooked["thresholds"] == [50, 80, 100]
    assert hooked["webhook_url"] == HOOK and hooked["webhook_secret_set"] is True
    BudgetAlertsWithSecret.model_validate({k: v for k, v in hooked.items() if k != "changed"})
    secret = hooked["webhook_secret"]
    assert secret.startswith("whsec_")
    again = root.json("budget", "alerts", "show", org)
    assert "webhook_secret" not in again and again["webhook_secret_set"] is True
    assert secret not in root.ok("budget", "alerts", "show", org).stdout

    # the values it has already (in another order): no request, no audit row
    before = writes(root, org)
    same = root.json("budget", "alerts", "set", org, "--thresholds", "80, 100, 50", "--webhook", HOOK)
    assert same["changed"] is False and "webhook_secret" not in same
    r = root.ok("budget", "alerts", "set", org, "--thresholds", "50,80,100")
    assert "unchanged" in r.stderr
    assert writes(root, org) == before

    # another URL keeps the secret (it is not shown again)
    moved = root.json("budget", "alerts", "set", org, "--webhook", OTHER_HOOK)
    assert moved["webhook_url"] == OTHER_HOOK and moved["webhook_secret_set"] is True
    assert "webhook_secret" not in moved

    out = root.ok("budget", "alerts", "show", org).stdout
    for text in (f"Budget alerts of org {org_id}", "50%, 80%, 100%", OTHER_HOOK, "signing secret set"):
        assert text in out, out
    assert "No alerts this month." in out

    # thresholds none and no webhook: both given, both replaced
    cleared = root.json("budget", "alerts", "set", org, "--thresholds", "none", "--no-webhook")
    assert cleared["changed"] is True and cleared["thresholds"] == [] and cleared["webhook_url"] is None
    assert "none" in root.ok("budget", "alerts", "show", org).stdout


def test_rotate_secret_prints_the_new_secret_once(root: Cli) -> None:
    org = f"ba-rot-{tag()}"
    root.json("org", "create", org)
    # human output: the secret and the "store it now" line on stderr, never on stdout
    r = root.ok("budget", "alerts", "set", org, "--thresholds", "90", "--webhook", HOOK)
    assert "store it now, it is not shown again" in r.stderr, r.stderr
    first = next(w for w in r.stderr.split() if w.startswith("whsec_"))
    assert "whsec_" not in r.stdout and HOOK in r.stdout

    rotated = root.json("budget", "alerts", "set", org, "--rotate-secret")
    assert rotated["changed"] is True and rotated["webhook_secret"].startswith("whsec_")
    assert rotated["webhook_secret"] != first and rotated["thresholds"] == [90]
    r = root.ok("budget", "alerts", "set", org, "--rotate-secret")  # always a write
    assert r.stderr.count("whsec_") == 1 and "not shown again" in r.stderr
    shown = root.ok("budget", "alerts", "show", org)
    assert "whsec_" not in shown.stdout + shown.stderr
    assert "webhook_secret" not in root.json("budget", "alerts", "show", org)

    # removing the webhook deletes its secret; the next webhook URL gets a new one, shown once
    removed = root.json("budget", "alerts", "set", org, "--no-webhook")
    assert removed["webhook_url"] is None and removed["webhook_secret_set"] is False
    back = root.json("budget", "alerts", "set", org, "--webhook", HOOK)
    assert back["webhook_secret"].startswith("whsec_") and back["webhook_secret"] != rotated["webhook_secret"]


def test_refusals_and_bad_values(server: Server, root: Cli, tmp_path: Path) -> None:
    org = f"ba-bad-{tag()}"
    root.json("org", "create", org)
    root.json("budget", "alerts", "set", org, "--thresholds", "80")
    before = writes(root, org)
    # refused before any request (exit 2): bad thresholds, a non-http(s) URL, contradictions
    for args in (
        ("--thresholds", "0"),
        ("--thresholds", "101"),
        ("--thresholds", "50,50"),
        ("--thresholds", "fifty"),
        ("--thresholds", "1.5"),
        ("--thresholds", "50,,80"),
        ("--thresholds", ",".join(str(n) for n in range(1, 12))),
    ):
        r = root.fails(2, "budget", "alerts", "set", org, *args)
        assert "--thresholds" in r.stderr + r.stdout, r.stderr
    for url in ("ftp://files.example/x", "hooks.example.com/x"):
        r = root.fails(2, "budget", "alerts", "set", org, "--webhook", url)
        assert "--webhook" in r.stderr + r.stdout
    root.fails(2, "budget", "alerts", "set", org, "--webhook", HOOK, "--no-webhook")
    root.fails(2, "budget", "alerts", "set", org, code="usage")  # nothing to set
    r = root.fails(2, "budget", "alerts", "set", org, "--rotate-secret", code="usage")  # no webhook
    assert "webhook" in r.stderr
    assert writes(root, org) == before
    assert root.json("budget", "alerts", "show", org)["thresholds"] == [80]
    root.fails(1, "budget", "alerts", "show", f"nope-{tag()}", code="org_not_found")
    # what only the API refuses (credentials in the URL): exit 1, the field named
    r = root.fails(1, "budget", "alerts", "set", org, "--webhook", "https://user:pw@hooks.example.com/x")
    assert "webhook_url" in r.stderr, r.stderr
    assert writes(root, org) == before

    # an Org Admin reads and sets the org's alerts; an Org User neither (403)
    admin = invited(server, root, org, "org_admin", tmp_path / "admin")
    assert admin.json("budget", "alerts", "set", org, "--thresholds", "75,95")["thresholds"] == [75, 95]
    user = invited(server, root, org, "org_user", tmp_path / "user")
    user.fails(1, "budget", "alerts", "show", org, code="permission_denied")
    user.fails(1, "budget", "alerts", "set", org, "--thresholds", "10", code="permission_denied")
    assert root.json("budget", "alerts", "show", org)["thresholds"] == [75, 95]


# --- apply -f with budget_alerts ------------------------------------------------------------------


def test_apply_budget_alerts_plan_dry_run_apply_and_nothing_the_second_time(
    root: Cli, tmp_path: Path
) -> None:
    t = tag()
    existing, new = f"ba-labs-{t}", f"ba-acme-{t}"
    root.json("org", "create", existing)
    root.json("budget", "alerts", "set", existing, "--thresholds", "80", "--webhook", OTHER_HOOK)
    spec = {
        "orgs": [
            {
                "name": new,
                "budget": "1M",
                "budget_alerts": {"thresholds": [100, 50, 80], "webhook_url": HOOK},
            },
            {"name": existing, "budget_alerts": {"thresholds": [50, 90]}},
        ]
    }
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump(spec))
    before = root.json("audit", "list", "--limit", "1")["data"][0]["id"]

    dry = root.json("apply", "-f", str(path), "--dry-run")
    assert [(a["action"], a["target"]) for a in dry["plan"]] == [
        ("create_org", f"org {new}"),
        ("set_budget_alerts", f"org {new}"),
        ("set_budget_alerts", f"org {existing}"),
    ]
    assert dry["plan"][1]["params"]["changes"] == {"thresholds": [50, 80, 100], "webhook_url": HOOK}
    assert dry["plan"][2]["params"]["changes"] == {"thresholds": [50, 90]}  # webhook_url not managed
    assert dry["applied"] == []
    assert root.json("audit", "list", "--limit", "1")["data"][0]["id"] == before  # nothing written
    human = root.ok("apply", "-f", str(path), "--dry-run").stdout
    assert f"~ org {existing}: budget alerts: thresholds 80% → 50%, 90%" in human, human
    assert f"~ org {new}: budget alerts: thresholds 50%, 80%, 100%; webhook_url {HOOK}" in human
    assert "Dry run" in human and "whsec_" not in human

    r = root.ok("apply", "-f", str(path))
    assert "Applied 3 change(s)." in r.stdout
    # the new org's first webhook URL generated a secret: printed once, with the warning
    assert r.stdout.count("whsec_") == 1 and "not shown again" in r.stdout, r.stdout
    got = root.json("budget", "alerts", "show", new)
    assert got["thresholds"] == [50, 80, 100] and got["webhook_url"] == HOOK and got["webhook_secret_set"]
    kept = root.json("budget", "alerts", "show", existing)
    assert kept["thresholds"] == [50, 90] and kept["webhook_url"] == OTHER_HOOK  # left out: kept

    again = root.json("apply", "-f", str(path))
    assert again["changes"] == 0 and again["applied"] == []
    assert "No changes: the platform matches" in root.ok("apply", "-f", str(path)).stdout

    # one setting changed in the file: one action; null = no webhook
    spec["orgs"][1]["budget_alerts"]["webhook_url"] = None
    path.write_text(yaml.safe_dump(spec))
    changed = root.json("apply", "-f", str(path))
    assert [a["change"] for a in changed["applied"]] == [f"budget alerts: webhook_url {OTHER_HOOK} → none"]
    assert changed["applied"][0]["result"] == {}
    assert root.json("budget", "alerts", "show", existing)["webhook_url"] is None
    assert root.json("apply", "-f", str(path))["changes"] == 0

    # with --json, a generated secret is in the action's result (and nowhere else)
    lone = f"ba-lone-{t}"
    root.json("org", "create", lone)
    path.write_text(yaml.safe_dump({"orgs": [{"name": lone, "budget_alerts": {"webhook_url": HOOK}}]}))
    applied = root.json("apply", "-f", str(path))["applied"]
    assert len(applied) == 1 and applied[0]["result"]["webhook_secret"].startswith("whsec_")
    assert "webhook_secret" not in applied[0]["params"]
    assert root.json("apply", "-f", str(path))["changes"] == 0


def test_apply_refuses_bad_budget_alerts_before_any_request(
    server: Server, root: Cli, tmp_path: Path
) -> None:
    org = f"ba-file-{tag()}"
    path = tmp_path / "bad.yaml"
    for alerts, field in (
        ({"thresholds": [0]}, "thresholds"),
        ({"thresholds": [50, 50]}, "thresholds"),
        ({"thresholds": [101]}, "thresholds"),
        ({"thresholds": ["lots"]}, "thresholds"),
        ({"webhook_url": "ftp://files.example/x"}, "webhook_url"),
        ({"webhook": HOOK}, "webhook"),
        ("50,80", "budget_alerts"),
    ):
        path.write_text(yaml.safe_dump({"orgs": [{"name": org, "budget_alerts": alerts}]}))
        r = root.fails(2, "apply", "-f", str(path), code="file")
        assert f"org {org}" in r.stderr and field in r.stderr, r.stderr
    root.fails(1, "org", "show", org)  # nothing was created

    # an Org Admin applies the org's alerts; an Org User cannot read them (403, exit 1)
    root.json("org", "create", org)
    admin = invited(server, root, org, "org_admin", tmp_path / "admin")
    path.write_text(yaml.safe_dump({"orgs": [{"name": org, "budget_alerts": {"thresholds": [60]}}]}))
    assert admin.json("apply", "-f", str(path))["changes"] == 1
    assert admin.json("apply", "-f", str(path))["changes"] == 0
    user = invited(server, root, org, "org_user", tmp_path / "user")
    path.write_text(yaml.safe_dump({"orgs": [{"name": org, "budget_alerts": {"thresholds": [70]}}]}))
    user.fails(1, "apply", "-f", str(path), code="permission_denied")
    assert root.json("budget", "alerts", "show", org)["thresholds"] == [60]
