"""Every `ias-admin` command group against a real server: people's output, `--json` output
(parsed, checked against the API's own protocol models), the idempotent flags, profiles and the
credentials file, audit paging and `--follow`, and `apply` (plan, `--dry-run`, twice → nothing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ias_serve.protocol.analytics import MyUsagePublic, OrgUsagePublic, SystemUsagePublic
from ias_serve.protocol.management.audit import AuditLogPublic
from ias_serve.protocol.management.auth import MePublic
from ias_serve.protocol.management.budgets import BudgetPublic
from ias_serve.protocol.management.invites import InviteSent, InvitesPublic
from ias_serve.protocol.management.keys import KeyCreatedPublic, KeysPublic
from ias_serve.protocol.management.members import MembersPublic
from ias_serve.protocol.management.models import ModelPublic, ModelsPublic
from ias_serve.protocol.management.orgs import OrgPublic, OrgsPublic
from tests.component.cli_support import PASSWORD, Cli, Server, file_mode, tag

ROOT = Path(__file__).resolve().parents[2]


def person(server: Server, root: Cli, org: str, role: str, home: Path) -> tuple[Cli, str]:
    """Someone invited into ``org`` by the System Admin who accepted through the CLI."""
    email = f"p-{tag()}@example.com"
    link = root.json("user", "invite", email, "--org", org, "--role", role)["link"]
    cli = Cli(home, server.url)
    cli.ok("invite", "accept", link, "--url", server.url, "--name", "P", "--password-stdin", input=PASSWORD)
    return cli, email


# --- login, profiles, the credentials file --------------------------------------------------------


def test_login_stores_a_private_profile_and_whoami_logout(server: Server, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "me", server.url)
    r = cli.login(server.admin_email, server.admin_password)
    assert f"Logged in to {server.url} as {server.admin_email}" in r.stdout
    assert "iass_" not in r.stdout + r.stderr  # the token is never printed
    assert file_mode(cli.credentials) == 0o600 and file_mode(cli.credentials.parent) == 0o700
    text = cli.credentials.read_text()
    assert "[default]" in text and f"url = {server.url}" in text and "token = iass_" in text

    me = cli.json("whoami")
    MePublic.model_validate({k: v for k, v in me.items() if k not in ("url", "profile", "token_from")})
    assert me["is_system_admin"] and me["url"] == server.url and me["profile"] == "default"
    assert "System Admin" in cli.ok("whoami").stdout

    # a second profile in the same file; the password prompt (no --password-stdin)
    r = cli.ok(
        "--profile",
        "two",
        "login",
        "--url",
        server.url,
        "--email",
        server.admin_email,
        input=server.admin_password + "\n",
    )
    assert "profile 'two'" in r.stdout and server.admin_password not in r.stdout
    assert cli.json("--profile", "two", "whoami")["profile"] == "two"
    assert cli.json("whoami", env={"IAS_PROFILE": "two"})["profile"] == "two"
    os.chmod(cli.credentials, 0o644)  # loosened by someone: warned about, then written 0600 again
    r = cli.ok("--profile", "two", "logout")
    assert "readable by other users" in r.stderr and file_mode(cli.credentials) == 0o600
    cli.fails(3, "--profile", "two", "whoami", code="not_logged_in")
    cli.ok("whoami")  # the default profile is untouched

    # CI: IAS_URL + IAS_TOKEN without any file
    lines = cli.credentials.read_text().splitlines()
    token = next(ln.split(" = ")[1] for ln in lines if ln.startswith("token"))
    ci = Cli(tmp_path / "ci")
    assert ci.json("whoami", env={"IAS_URL": server.url, "IAS_TOKEN": token})["token_from"] == "IAS_TOKEN"
    assert not ci.credentials.exists()
    # logging out an IAS_TOKEN session ends it and leaves the stored profile alone
    out = cli.json("logout", env={"IAS_URL": server.url, "IAS_TOKEN": token})
    assert out["session"] == "revoked" and out["token_removed"] is False
    assert f"token = {token}" in cli.credentials.read_text()
    r = cli.fails(3, "whoami", code="invalid_session")  # the same session, ended on the server
    assert "hint: log in again" in r.stderr


# --- org ------------------------------------------------------------------------------------------


def test_org_commands_and_if_not_exists(root: Cli) -> None:
    name = f"acme-{tag()}"
    created = root.json("org", "create", name, "--budget", "500M")
    OrgPublic.model_validate({k: v for k, v in created.items() if k != "created"})
    assert created["created"] is True and created["monthly_token_limit"] == 500_000_000
    again = root.json("org", "create", name.upper(), "--if-not-exists")  # names are case-insensitive
    assert again["created"] is False and again["id"] == created["id"]
    r = root.ok("org", "create", name, "--if-not-exists")
    assert "Exists already" in r.stdout

    assert root.json("org", "show", name)["id"] == created["id"]
    assert root.json("org", "show", created["id"])["name"] == name
    assert "500M tokens / month" in root.ok("org", "show", name).stdout

    assert json.loads(root.ok("--json", "org", "show", name).stdout)["id"] == created["id"]  # global --json
    page = root.json("org", "list", "--name", name)
    OrgsPublic.model_validate(page)
    assert [o["id"] for o in page["data"]] == [created["id"]]
    out = root.ok("org", "list").stdout
    assert name in out and created["id"] in out  # ids are never cut

    disabled = root.json("org", "disable", name)
    assert disabled["status"] == "disabled" and disabled["changed"] is True
    assert root.json("org", "disable", name)["changed"] is False  # idempotent: no second write
    assert root.json("org", "list", "--status", "disabled", "--name", name)["count"] == 1
    assert root.json("org", "enable", name)["status"] == "active"
    renamed = root.json("org", "update", name, "--name", name + "-r")
    assert renamed["name"] == name + "-r"
    updates = root.json("audit", "list", "--org", created["id"], "--action", "org_updated")["data"]
    assert len(updates) == 3  # disable, enable, rename: the no-op disable wrote nothing

    # delete: only a disabled org, and only with --yes when nobody can be asked
    root.fails(2, "org", "delete", name + "-r", code="usage")
    root.fails(1, "org", "delete", name + "-r", "--yes", code="org_not_disabled")
    root.json("org", "disable", name + "-r")
    gone = root.json("org", "delete", name + "-r", "--yes")
    assert gone["id"] == created["id"] and gone["keys_deleted"] == 0
    root.fails(1, "org", "show", created["id"])
    trail = root.json("audit", "list", "--action", "org_deleted", "--all")["data"]
    assert [r["org_id"] for r in trail].count(created["id"]) == 1  # the trail outlives the org


def test_org_list_paging(root: Cli) -> None:
    prefix = f"pg-{tag()}"
    for i in range(5):
        root.json("org", "create", f"{prefix}-{i}")
    first = root.json("org", "list", "--name", prefix, "--limit", "2")
    assert len(first["data"]) == 2 and first["count"] == 5 and first["next_cursor"]
    second = root.json("org", "list", "--name", prefix, "--limit", "2", "--cursor", first["next_cursor"])
    assert [o["name"] for o in first["data"] + second["data"]] == [f"{prefix}-{i}" for i in range(4)]
    everything = root.json("org", "list", "--name", prefix, "--limit", "2", "--all")
    assert len(everything["data"]) == 5 and everything["next_cursor"] is None
    r = root.ok("org", "list", "--name", prefix, "--limit", "2")
    assert "next page: --cursor" in r.stderr and "--cursor" not in r.stdout


# --- user, invite ---------------------------------------------------------------------------------


def test_user_and_invite_commands(server: Server, root: Cli, tmp_path: Path) -> None:
    org = f"people-{tag()}"
    root.json("org", "create", org)
    admin, admin_email = person(server, root, org, "org_admin", tmp_path / "admin")

    # the Org Admin invites without --org (their only organisation); `user add` is the alias
    email = f"grace-{tag()}@example.com"
    sent = admin.json("user", "add", email)
    InviteSent.model_validate(sent)
    assert sent["email"] == "outbox" and sent["link"] and sent["invite"]["role"] == "org_user"
    r = admin.ok("user", "invite", email, "--role", "admin")  # re-invite: replaces, as org_admin
    assert "replaced 1 pending invite" in r.stdout and "/invite/iasi_" in r.stdout

    invites = admin.json("invite", "list")
    InvitesPublic.model_validate(invites)
    assert [(i["email"], i["role"]) for i in invites["data"]] == [(email, "org_admin")]
    resent = admin.json("invite", "resend", email)
    assert resent["link"] != sent["link"]
    admin.ok("invite", "revoke", email)
    assert admin.json("invite", "list")["count"] == 0
    link = admin.json("user", "invite", email)["link"]

    # the invitee looks at it first (no login needed); the System Admin sees the kept e-mail
    grace = Cli(tmp_path / "grace", server.url)
    info = grace.json("invite", "show", link)
    assert (info["org_name"], info["role"], info["existing_account"]) == (org, "org_user", False)
    assert "for " + email in grace.ok("invite", "show", link).stdout
    mails = root.json("invite", "outbox", "--to", email)
    assert mails["mailer"] == "outbox" and link in mails["data"][0]["body"]
    admin.fails(1, "invite", "outbox", code="permission_denied")

    # accepting interactively: name, then the new password twice
    r = grace.ok(
        "invite", "accept", link, input=f"Grace Hopper\n{PASSWORD}\n{PASSWORD}\n"
    )  # URL from the link
    assert f"you are org_user of {org}" in r.stdout
    assert grace.json("whoami")["user"]["name"] == "Grace Hopper"
    grace.fails(
        1,
        "invite",
        "accept",
        link,
        "--url",
        server.url,
        "--no-login",
        "--name",
        "G",
        "--password-stdin",
        input=PASSWORD,
    )

    members = admin.json("user", "list")
    MembersPublic.model_validate(members)
    assert {m["email"]: m["role"] for m in members["data"]} == {admin_email: "org_admin", email: "org_user"}
    assert admin.json("user", "set-role", email, "org_admin")["role"] == "org_admin"
    assert admin.json("user", "set-role", email, "org_user")["role"] == "org_user"
    # a password change (current, then new, on stdin); the old one stops working
    new_password = PASSWORD + " renewed"
    changed = grace.json("password", "--password-stdin", input=f"{PASSWORD}\n{new_password}\n")
    assert changed["sessions_revoked"] == 0
    grace.fails(3, "login", "--email", email, "--password-stdin", input=PASSWORD, code="invalid_credentials")
    grace.login(email, new_password)
    grace.fails(1, "password", "--password-stdin", input="wrong one entirely\nwhatever long enough\n")
    grace.json("key", "create", "--name", "notebook")
    removed = admin.json("user", "remove", email)
    assert removed["keys_revoked"] == 1
    assert email not in admin.ok("user", "list").stdout


# --- key ------------------------------------------------------------------------------------------


def test_key_create_once_duplicate_rotate_list_revoke(server: Server, root: Cli, tmp_path: Path) -> None:
    org = f"keys-{tag()}"
    root.json("org", "create", org)
    dev, _ = person(server, root, org, "org_user", tmp_path / "dev")

    r = dev.ok("key", "create", "--name", "ci", "--expires-in-days", "30")
    key = r.stdout.strip()
    assert r.stdout == key + "\n" and key.startswith("ias-")  # the key alone on stdout
    assert "not shown again" in r.stderr and key not in r.stderr

    dup = dev.fails(1, "key", "create", "--name", "CI", code="key_name_taken")
    assert "--rotate" in dup.stderr and dup.stdout == ""
    rotated = dev.json("key", "create", "--name", "ci", "--rotate")
    KeyCreatedPublic.model_validate({k: v for k, v in rotated.items() if k != "rotated"})
    assert rotated["key"] != key and len(rotated["rotated"]) == 1

    page = dev.json("key", "list")
    KeysPublic.model_validate(page)
    assert all("key" not in k for k in page["data"]) and key not in json.dumps(page)  # never the key
    assert {k["status"] for k in page["data"]} == {"active", "revoked"}
    listing = dev.ok("key", "list", "--status", "active").stdout
    assert rotated["prefix"] in listing and rotated["key"] not in listing

    revoked = dev.json("key", "revoke", "ci")  # by name
    assert revoked["status"] == "revoked" and revoked["id"] == rotated["id"]
    dev.fails(1, "key", "revoke", rotated["id"], code="key_already_revoked")
    assert dev.json("key", "list", "--mine", "--status", "active")["count"] == 0
    assert dev.json("key", "list", "--org", org, "--all")["count"] == 2


# --- budget, model --------------------------------------------------------------------------------


def test_budget_show_and_set(root: Cli) -> None:
    org = f"budget-{tag()}"
    root.json("org", "create", org)
    b = root.json("budget", "show", "--org", org)
    BudgetPublic.model_validate({k: v for k, v in b.items()})
    assert b["monthly_token_limit"] is None
    set_ = root.json("budget", "set", "2B", "--org", org)
    assert set_["monthly_token_limit"] == 2_000_000_000 and set_["changed"] is True
    assert root.json("budget", "set", "2000M", "--org", org)["changed"] is False  # same amount
    assert "2B" in root.ok("budget", "show", "--org", org).stdout
    assert root.json("budget", "set", "unlimited", "--org", org)["monthly_token_limit"] is None
    assert len(root.json("audit", "list", "--org", org, "--action", "budget_changed")["data"]) == 2


def test_model_commands(root: Cli) -> None:
    org = f"models-{tag()}"
    org_id = root.json("org", "create", org)["id"]
    name = f"m-{tag()}"
    m = root.json(
        "model", "add", name, "--remote-url", "http://127.0.0.1:9/v1", "--price-input", "0.15", "--org", org
    )
    ModelPublic.model_validate(m)
    assert m["allowed_org_ids"] == [org_id] and m["price_per_million_input"] == "0.15"
    ModelsPublic.model_validate(root.json("model", "list"))
    assert name in root.ok("model", "list").stdout
    assert root.json("model", "show", name)["id"] == m["id"]
    u = root.json("model", "update", name, "--disable", "--deny-org", org, "--price-output", "0.6")
    assert u["enabled"] is False and u["allowed_org_ids"] == [] and u["price_per_million_output"] == "0.6"
    assert root.json("model", "update", name, "--all-orgs", "--enable")["allowed_org_ids"] is None
    assert root.json("model", "remove", name)["removed"] is True
    root.fails(1, "model", "show", name, code="model_not_found")


# --- usage, audit ---------------------------------------------------------------------------------


def test_usage_commands_answer_with_empty_figures(server: Server, root: Cli, tmp_path: Path) -> None:
    org = f"usage-{tag()}"
    root.json("org", "create", org, "--budget", "1M")
    admin, _ = person(server, root, org, "org_admin", tmp_path / "a")
    data = admin.json("usage", "org", "--days", "7")
    OrgUsagePublic.model_validate(data)
    assert (
        data["period"]["days"] == 7
        and data["totals"]["requests"] == 0
        and data["budget"]["limit"] == 1_000_000
    )
    MyUsagePublic.model_validate(admin.json("usage", "me", "--from", "2026-01-01", "--to", "2026-01-31"))
    SystemUsagePublic.model_validate(root.json("usage", "system"))
    out = admin.ok("usage", "org").stdout
    assert f"Usage of {org}" in out and "Budget" in out and "Daily tokens" in out
    assert "Daily tokens" not in admin.ok("usage", "me", "--no-chart").stdout


def test_audit_list_filters_paging_and_follow(server: Server, root: Cli, tmp_path: Path) -> None:
    org = f"audit-{tag()}"
    org_id = root.json("org", "create", org)["id"]
    admin, admin_email = person(server, root, org, "org_admin", tmp_path / "a")
    for i in range(3):
        admin.json("key", "create", "--name", f"k{i}")
    log = admin.json("audit", "list", "--action", "key_created")
    AuditLogPublic.model_validate(log)
    assert [e["payload"]["name"] for e in log["data"]] == ["k2", "k1", "k0"]  # newest first
    page = admin.json("audit", "list", "--limit", "2")
    assert len(page["data"]) == 2 and page["next_cursor"]
    rest = admin.json("audit", "list", "--limit", "2", "--cursor", page["next_cursor"])
    assert rest["data"][0]["id"] < page["data"][-1]["id"]
    assert admin.json("audit", "list", "--all", "--limit", "2")["count"] == page["count"]
    mine = admin.json("audit", "list", "--user", "me", "--since", "1h")["data"]
    assert mine and {e["user_email"] for e in mine} == {admin_email}
    assert admin.json("audit", "list", "--user", admin_email, "--until", "2000-01-01")["data"] == []
    assert root.json("audit", "list", "--org", org, "--action", "org_created")["data"][0]["org_id"] == org_id
    assert root.json("audit", "list", "--action", "org_created", "--limit", "500")["count"] >= 1  # every org
    out = admin.ok("audit", "list").stdout
    assert "key_created" in out and admin_email in out

    # --follow in a process of its own: the entries so far, then the new one as it comes
    config = admin.config_home
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "COLUMNS": "200"}
    for var in ("IAS_URL", "IAS_TOKEN", "IAS_PROFILE", "IAS_ORG"):
        env.pop(var, None)
    cmd = [sys.executable, "-m", "cli.main", "audit", "list", "--follow", "--json", "--limit", "2"]
    proc = subprocess.Popen(
        [*cmd, "--interval", "0.3", "--for", "20"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = [json.loads(proc.stdout.readline()) for _ in range(2)]  # the last 2, oldest first
        assert first[0]["id"] < first[1]["id"]
        admin.json("key", "create", "--name", "followed")
        deadline = time.monotonic() + 15
        new = json.loads(proc.stdout.readline())
        assert time.monotonic() < deadline
        assert new["action_type"] == "key_created" and new["payload"]["name"] == "followed"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- apply ----------------------------------------------------------------------------------------


def test_apply_plans_changes_then_nothing_the_second_time(server: Server, root: Cli, tmp_path: Path) -> None:
    t = tag()
    existing = f"labs-{t}"
    root.json("org", "create", existing, "--budget", "1M")
    keep, keep_email = person(server, root, existing, "org_user", tmp_path / "keep")
    model = f"tm-{t}"
    spec = {
        "models": [
            {"name": model, "serve": "echo-model", "price_per_million_input": 0.15, "access": "listed"}
        ],
        "orgs": [
            {
                "name": f"acme-{t}",
                "budget": "500M",
                "admins": [f"ada-{t}@example.com"],
                "users": [f"grace-{t}@example.com"],
                "models": [model, "echo-model"],
            },
            {"name": existing, "budget": "2B", "admins": [keep_email], "models": ["echo-model"]},
        ],
    }
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump(spec))
    before = root.json("audit", "list", "--limit", "1")["data"][0]["id"]

    dry = root.json("apply", "-f", str(path), "--dry-run")
    kinds = [a["action"] for a in dry["plan"]]
    assert kinds == ["create_org", "set_budget", "create_model", "invite", "invite", "set_role"], kinds
    assert dry["applied"] == [] and dry["dry_run"] is True
    assert root.json("audit", "list", "--limit", "1")["data"][0]["id"] == before  # nothing written
    assert dry["warnings"] == []
    human = root.ok("apply", "-f", str(path), "--dry-run")
    assert f"+ org acme-{t}: create (budget 500M)" in human.stdout and "Dry run" in human.stdout

    r = root.ok("apply", "-f", str(path))
    assert "Applied 6 change(s)." in r.stdout and "accept link: http" in r.stdout
    acme = root.json("org", "show", f"acme-{t}")
    assert acme["monthly_token_limit"] == 500_000_000
    assert root.json("budget", "show", "--org", existing)["monthly_token_limit"] == 2_000_000_000
    assert root.json("model", "show", model)["allowed_org_ids"] == [acme["id"]]
    invites = root.json("invite", "list", "--org", f"acme-{t}")["data"]
    assert sorted((i["email"], i["role"]) for i in invites) == [
        (f"ada-{t}@example.com", "org_admin"),
        (f"grace-{t}@example.com", "org_user"),
    ]
    assert root.json("user", "list", "--org", existing)["data"][0]["role"] == "org_admin"

    again = root.json("apply", "-f", str(path))
    assert again["changes"] == 0 and again["applied"] == []
    assert "No changes: the platform matches" in root.ok("apply", "-f", str(path)).stdout
    assert keep.json("whoami")["memberships"][0]["role"] == "org_admin"

    # --prune: a member the file does not list is removed (shown first in the plan)
    _, extra_email = person(server, root, existing, "org_user", tmp_path / "extra")
    assert any(extra_email in w for w in root.json("apply", "-f", str(path), "--dry-run")["warnings"])
    pruned = root.json("apply", "-f", "-", "--prune", input=path.read_text())
    assert [(a["action"], a["params"]["email"]) for a in pruned["applied"]] == [
        ("remove_member", extra_email)
    ]
    assert root.json("apply", "-f", str(path), "--prune")["changes"] == 0
