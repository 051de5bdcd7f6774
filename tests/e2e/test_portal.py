"""The web portal in a real browser (issue 9, item 5): the requirements' user stories end to end.

Playwright (the Python binding of the same driver as ``playwright-core``) drives Debian's
``chromium`` (``make browser``; no browser is downloaded), headless, against the stack the E2E
harness targets. People act only through the portal's pages; the invite links come from the
e-mails (the outbox, or Mailpit for a deployment with SMTP); the key is read from the page once
and used with the official ``openai`` SDK. Screenshots of every main page are saved under
``test-artifacts/portal/`` (CI keeps them).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness.api import PASSWORD, Tenants, chat, refused, sdk, unique
from tests.e2e.harness.stores import Postgres
from tests.e2e.harness.target import REPO, Target
from tests.e2e.harness.trace import Trace

pytestmark = [pytest.mark.e2e, pytest.mark.portal, pytest.mark.timeout(600)]

ARTIFACTS = REPO / "test-artifacts" / "portal"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    # IAS_TEST_CHROMIUM: another Chromium-based browser (e.g. a CI image's Chrome); else Debian's
    # binary itself (its /usr/bin/chromium wrapper script only adds flags)
    binary = Path("/usr/lib/chromium/chromium")
    chromium = os.environ.get("IAS_TEST_CHROMIUM") or (
        str(binary) if binary.is_file() else shutil.which("chromium")
    )
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: `make browser` (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Person:
    """One person at their own browser (a context of its own: cookies are per person)."""

    def __init__(self, browser, target: Target, name: str, *, width: int = 1280, height: int = 800) -> None:  # type: ignore[no-untyped-def]
        self.name = name
        self.target = target
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=target.base_url
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def shot(self, what: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{what}.png"), full_page=True)

    def login(self, email: str, password: str) -> None:
        p = self.page
        p.goto("/login")
        p.get_by_label("Email").fill(email)
        p.get_by_label("Password", exact=True).fill(password)
        self.shot("login")
        p.get_by_role("button", name="Sign in").click()
        p.get_by_role("button", name=re.compile("Sign out|Log out", re.I)).wait_for()

    def accept(self, link: str, name: str) -> None:
        p = self.page
        p.goto(link)
        p.get_by_label(re.compile("^Name", re.I)).fill(name)
        p.get_by_label(re.compile("^Password", re.I)).first.fill(PASSWORD)
        confirm = p.get_by_label(re.compile("Confirm|Repeat", re.I))
        if confirm.count():
            confirm.fill(PASSWORD)
        self.shot("accept-invite")
        p.get_by_role("button", name=re.compile("Accept|Join|Create account", re.I)).click()
        p.get_by_role("button", name=re.compile("Sign out|Log out", re.I)).wait_for()

    def close(self) -> None:
        assert not self.errors, f"JavaScript errors in {self.name}'s browser: {self.errors}"
        self.context.close()


def test_the_user_stories_in_a_browser(
    browser,
    target: Target,
    trace: Trace,
    tenants: Tenants,
    pg: Postgres,
    figure,  # type: ignore[no-untyped-def]
) -> None:
    started = time.monotonic()
    org_name = unique("portal")
    lead_email = f"{unique('lead')}@e2e.example.com"
    dev_email = f"{unique('dev')}@e2e.example.com"
    admin = Person(browser, target, "system-admin")
    lead: Person | None = None
    dev: Person | None = None
    try:
        # the System Admin creates an org and invites its Org Admin
        admin.login(target.admin_email, target.admin_password)
        admin.shot("global-usage")  # a System Admin's home
        p = admin.page
        p.get_by_role("link", name=re.compile("Organi[sz]ations", re.I)).click()
        p.get_by_label(re.compile("Name", re.I)).first.fill(org_name)
        p.get_by_role("button", name=re.compile("Create organi[sz]ation", re.I)).click()
        p.get_by_role("cell", name=org_name).wait_for()
        admin.shot("organisations")
        org_id = pg.rows("SELECT id FROM organizations WHERE name = %(n)s", n=org_name)[0]["id"]
        tenants.adopt(str(org_id), org_name)  # deleted at the end, whatever happens
        p.get_by_role("row", name=re.compile(org_name)).get_by_role("link").first.click()
        _invite(p, lead_email, "Org Admin")
        admin.shot("users")

        # the invite link from the e-mail, opened by the lead in a browser of their own
        lead = Person(browser, target, "org-admin")
        lead.accept(tenants.mailed_link(lead_email), "Team Lead")
        lead.shot("after-accept")
        q = lead.page
        _nav(q, "Users")
        _invite(q, dev_email, "Org User")
        _nav(q, "Budget")
        q.get_by_label(re.compile("budget|limit", re.I)).first.fill("500M")
        q.get_by_role("button", name=re.compile("Save", re.I)).click()
        q.get_by_text(re.compile(r"500,000,000|500M")).first.wait_for()
        lead.shot("budget")

        # the developer accepts, creates a key (shown once), calls inference with it
        dev = Person(browser, target, "org-user")
        dev.accept(tenants.mailed_link(dev_email), "Dev One")
        d = dev.page
        _nav(d, "Keys")
        d.get_by_label(re.compile("Name", re.I)).first.fill("laptop")
        d.get_by_role("button", name=re.compile("Create key", re.I)).click()
        key = d.get_by_test_id("new-key").inner_text().strip()
        assert key.startswith("ias-"), key
        dev.shot("key-created")
        with sdk(target, trace, key) as client:
            answer = chat(client, target.fast_model, f"hello from the portal {uuid.uuid4().hex[:6]}")
        tokens = answer.usage.prompt_tokens + answer.usage.completion_tokens
        # … and sees it on the dashboard (the usage pipeline is asynchronous: reload until there)
        _nav(d, "Usage")
        total = d.locator(".stat", has_text="Total tokens").first.locator(".stat-value")
        for _ in range(20):
            if total.inner_text().strip() == f"{tokens:,}":  # (inner_text waits for the figures)
                break
            d.wait_for_timeout(500)
            d.reload()
        else:
            pytest.fail(f"{tokens} tokens never appeared on the org dashboard (shows {total.inner_text()})")
        dev.shot("dashboard")
        _nav(d, "My usage")  # … and, separately, their own usage
        mine = d.locator(".stat", has_text="Total tokens").first.locator(".stat-value")
        assert mine.inner_text().strip() == f"{tokens:,}"
        dev.shot("my-usage")
        # the key is not on any page any more, only its prefix
        _nav(d, "Keys")
        # on the keys page (its own button), with the list loaded: a "laptop" row of the usage page
        # just left would otherwise match while the navigation is still under way
        d.get_by_role("button", name=re.compile("Create key", re.I)).wait_for()
        d.get_by_role("row", name=re.compile("laptop")).wait_for()
        html = d.content()
        at = html.find(key)
        assert at < 0, f"the key is still in the page: …{html[max(0, at - 300) : at + 40]}…"
        assert key[:12] in html

        # the Org Admin revokes the key and finds it in the audit log
        _nav(q, "Keys")
        q.get_by_role("row", name=re.compile("laptop")).get_by_role("button", name="Revoke").click()
        q.get_by_role("button", name=re.compile("^(Revoke|Confirm|Yes)", re.I)).last.click()
        q.get_by_role("row", name=re.compile("laptop")).get_by_text(re.compile("revoked", re.I)).wait_for()
        lead.shot("keys")
        with sdk(target, trace, key) as client:
            assert refused(client, target.fast_model) == 401
        _nav(q, "Audit")
        q.get_by_text("key_revoked").first.wait_for()
        lead.shot("audit-log")
        figure(f"the portal story took {time.monotonic() - started:.1f} s in three browsers")
    except BaseException:
        for person in (dev, lead, admin):  # what each one saw when it failed
            if person is not None:
                person.shot("at-failure")
        raise
    finally:
        for person in (dev, lead, admin):
            if person is not None:
                person.close()


def _nav(page, name) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("link", name=name).first.click()
    page.get_by_role("heading", level=1).first.wait_for()


def _invite(page, email: str, role: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label(re.compile("E-?mail", re.I)).first.fill(email)
    page.get_by_label(re.compile("Role", re.I)).first.select_option(label=role)
    page.get_by_role("button", name=re.compile("^Invite", re.I)).click()
    page.get_by_text(email).first.wait_for()


def test_each_role_sees_only_its_pages_and_admin_pages_work(
    browser,
    target: Target,
    trace: Trace,
    tenants: Tenants,  # type: ignore[no-untyped-def]
) -> None:
    tenant = tenants.org()
    dev_member = tenants.member(tenant, "dev")
    admin = Person(browser, target, "system-admin-2")
    dev = Person(browser, target, "org-user-mobile", width=390, height=844)  # a phone
    try:
        # the Org User: admin pages are neither offered nor opened, and the API refuses them
        dev.login(dev_member.session.email, PASSWORD)
        d = dev.page
        d.goto(f"/org/{tenant.id}/usage")
        d.get_by_role("heading", level=1).first.wait_for()
        menu = d.get_by_role("button", name=re.compile("Menu", re.I))
        if menu.count() and menu.first.is_visible():  # the narrow layout folds the navigation
            menu.first.click()
        nav = d.get_by_role("navigation").first
        assert nav.get_by_role("link", name="API keys").count() == 1
        for hidden in ("Users", "Budget", "Audit log", "Organisations", "Model mappings"):
            assert nav.get_by_role("link", name=hidden, exact=True).count() == 0, (
                f"{hidden} offered to an Org User"
            )
        for page in ("users", "budget", "audit"):
            d.goto(f"/org/{tenant.id}/{page}")
            d.get_by_role("heading", name="Not available").wait_for()
        assert d.request.get(f"/api/org/{tenant.id}/user").status == 403  # with the browser's cookie
        # on the phone: create a key, shown once
        d.goto(f"/org/{tenant.id}/keys")
        d.get_by_label("Key name").fill("phone")
        d.get_by_role("button", name="Create key").click()
        assert d.get_by_test_id("new-key").inner_text().strip().startswith("ias-")
        assert d.evaluate("document.documentElement.scrollWidth") <= 390 + 1, "the page overflows a phone"
        dev.shot("keys-mobile")
        # change the password, sign out, sign in with the new one
        d.goto("/account/password")
        d.get_by_label("Current password").fill(PASSWORD)
        d.get_by_label("New password", exact=True).fill(PASSWORD + " changed")
        d.get_by_label("Confirm new password").fill(PASSWORD + " changed")
        d.get_by_role("button", name=re.compile("Change password", re.I)).click()
        d.get_by_text(re.compile("password (was )?changed", re.I)).first.wait_for()
        if menu.count() and menu.first.is_visible():
            menu.first.click()
        d.get_by_role("button", name="Sign out").click()
        d.get_by_role("button", name="Sign in").wait_for()
        assert d.request.get("/api/auth/me").status == 401  # the session cookie is gone
        dev.login(dev_member.session.email, PASSWORD + " changed")

        # the System Admin: model mappings (add, edit, remove) and disabling an org
        admin.login(target.admin_email, target.admin_password)
        a = admin.page
        a.goto("/system/models")
        model = unique("m")
        a.get_by_label("Public model name").fill(model)
        a.get_by_label("Engine deployment name").fill(target.fast_model)
        a.get_by_role("button", name=re.compile("^Add", re.I)).click()
        row = a.get_by_role("row", name=re.compile(model))
        row.wait_for()
        admin.shot("models")
        row.get_by_role("button", name="Edit").click()
        editing = a.locator("tr", has=a.get_by_role("heading", name=f"Edit {model}"))
        editing.get_by_label("Output price per million tokens").fill("0.6")
        editing.get_by_role("button", name="Save changes").click()
        a.get_by_role("row", name=re.compile(model)).get_by_text("0.6").wait_for()
        a.get_by_role("row", name=re.compile(model)).get_by_role("button", name="Remove").click()
        a.get_by_role("dialog").get_by_role("button", name=re.compile("Remove", re.I)).click()
        a.get_by_role("row", name=re.compile(model)).wait_for(state="detached")
        a.goto("/system/orgs")
        a.get_by_role("row", name=re.compile(tenant.name)).get_by_role("button", name="Disable").click()
        a.get_by_role("dialog").get_by_role("button", name="Disable organisation").click()
        a.get_by_role("row", name=re.compile(tenant.name)).get_by_text("disabled").wait_for()
        assert tenants.root.json("GET", f"/org/{tenant.id}")["status"] == "disabled"
    except BaseException:
        for person in (dev, admin):
            person.shot("at-failure")
        raise
    finally:
        for person in (dev, admin):
            person.close()


def test_org_admin_manages_members_invites_and_reads_the_audit_log(
    browser,
    target: Target,
    tenants: Tenants,
    pg: Postgres,  # type: ignore[no-untyped-def]
) -> None:
    tenant = tenants.org()
    lead_member = tenants.member(tenant, "lead", "org_admin")
    dev_member = tenants.member(tenant, "dev")
    pending = f"{unique('later')}@e2e.example.com"
    lead = Person(browser, target, "org-admin-2")
    try:
        lead.login(lead_member.session.email, PASSWORD)
        q = lead.page
        q.goto(f"/org/{tenant.id}/users")
        _invite(q, pending, "Org User")

        def row(text: str):  # type: ignore[no-untyped-def]
            return q.get_by_role("row", name=re.compile(re.escape(text)))

        def confirm(button: str, in_row: str, confirm_label: str) -> None:
            row(in_row).get_by_role("button", name=button).click()
            q.get_by_role("dialog").get_by_role("button", name=confirm_label).click()
            q.get_by_role("dialog").wait_for(state="detached")

        confirm("Resend", pending, "Resend invitation")
        confirm("Make Org Admin", dev_member.session.email, "Change role")
        row(dev_member.session.email).get_by_text("Org Admin").wait_for()
        lead.shot("users-managed")
        confirm("Revoke", pending, "Revoke invitation")
        confirm("Remove", dev_member.session.email, "Remove user")
        row(dev_member.session.email).wait_for(state="detached")
        members = pg.rows("SELECT user_id FROM memberships WHERE org_id = %(o)s", o=tenant.id)
        assert [str(m["user_id"]) for m in members] == [str(lead_member.id)]
        # removed from their only org, the account stays (sessions ended; it can be invited
        # again): not the org's any more, so its deletion will not remove it
        del tenant.members["dev"]

        # the audit log: filtered by action, a row's payload opened
        q.goto(f"/org/{tenant.id}/audit")
        q.get_by_label("Action").select_option("user_role_changed")
        apply = q.get_by_role("button", name=re.compile("Apply|Filter|Search", re.I))
        if apply.count():
            apply.first.click()
        table = q.get_by_role("table")
        table.get_by_text("user_role_changed").first.wait_for()
        assert table.get_by_text("user_removed").count() == 0, "the action filter shows other actions"
        table.get_by_role("button", name="Details").first.click()
        q.get_by_text(dev_member.session.email).first.wait_for()  # the payload names the member
        lead.shot("audit-filtered")
    except BaseException:
        lead.shot("at-failure")
        raise
    finally:
        lead.close()
