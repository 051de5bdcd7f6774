"""The public APIs as a user calls them: the Management API over HTTP, inference with the
official ``openai`` SDK. Every exchange goes into the test's trace (keys masked).

:class:`Tenants` builds what a test needs through the Management API only (an org, members
invited and accepted, keys, budgets) under unique names, and removes it again the same way
(disable, then ``DELETE /api/org/{id}``).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
from openai import OpenAI

from tests.e2e.harness.target import Target
from tests.e2e.harness.trace import Trace

PASSWORD = "e2e passphrase, long enough 42"
_TOKEN = re.compile(r"(iasi_[A-Za-z0-9_-]+)")
_LINK = re.compile(r"(https?://\S+/invite/iasi_[A-Za-z0-9_-]+)")


class ApiError(AssertionError):
    pass


@dataclass
class Session:
    """A logged-in user of the Management API (session token as a Bearer)."""

    target: Target = field(repr=False)
    trace: Trace = field(repr=False)
    token: str = field(repr=False)
    user_id: uuid.UUID
    email: str
    http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            base_url=self.target.base_url,
            headers={"Authorization": f"Bearer {self.token}"},
            event_hooks=self.trace.hooks(),
            timeout=60,
        )

    def call(self, method: str, path: str, *, expect: int | None = 200, **kw: Any) -> httpx.Response:
        """``method`` on ``/api{path}`` (or an absolute ``/analytics…`` path); asserts ``expect``."""
        url = path if path.startswith("/analytics") else f"/api{path}"
        r = self.http.request(method, url, **kw)
        if expect is not None and r.status_code != expect:
            raise ApiError(
                f"{method} {url}: expected {expect}, got {r.status_code} (see the exchanges below)"
            )
        return r

    def json(self, method: str, path: str, *, expect: int = 200, **kw: Any) -> Any:
        return self.call(method, path, expect=expect, **kw).json()

    def close(self) -> None:
        self.http.close()


def login(target: Target, trace: Trace, email: str, password: str) -> Session:
    with httpx.Client(base_url=target.base_url, event_hooks=trace.hooks(), timeout=60) as c:
        r = c.post("/api/auth/login", json={"email": email, "password": password})
    if r.status_code != 200:
        raise ApiError(f"login of {email} failed: {r.status_code} (see the exchanges below)")
    body = r.json()
    return Session(target, trace, body["token"], uuid.UUID(body["user"]["id"]), email)


def sdk(target: Target, trace: Trace, key: str, **kw: Any) -> OpenAI:
    """The official client on ``/v1`` with ``key``; no retries (a retry would hide a 429)."""
    http = httpx.Client(event_hooks=trace.hooks(), timeout=kw.pop("timeout", 120))
    return OpenAI(base_url=target.v1, api_key=key, max_retries=0, http_client=http, **kw)


def chat(client: OpenAI, model: str, text: str, request_id: str | None = None, **kw: Any) -> Any:
    headers = {"X-Request-ID": request_id} if request_id else None
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}], extra_headers=headers, **kw
    )


def refused(client: OpenAI, model: str) -> int | None:
    """The HTTP status of a refused chat call (401/403/404/429…), or None when it succeeds."""
    try:
        chat(client, model, "ping", max_tokens=1)
        return None
    except openai.APIStatusError as e:
        return e.status_code


def unique(tag: str) -> str:
    return f"e2e-{tag}-{uuid.uuid4().hex[:10]}"


@dataclass
class Member:
    session: Session
    role: str
    keys: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> uuid.UUID:
        return self.session.user_id

    def new_key(self, org_id: str, name: str | None = None, **extra: Any) -> dict[str, Any]:
        key = self.session.json(
            "POST", f"/org/{org_id}/key", expect=201, json={"name": name or unique("key"), **extra}
        )
        self.keys.append(key)
        return key


@dataclass
class Tenant:
    """An org made by the harness, with its members (created through invites)."""

    id: str
    name: str
    members: dict[str, Member] = field(default_factory=dict)


class Tenants:
    """Creates orgs and members through the Management API; :meth:`cleanup` deletes them."""

    def __init__(self, target: Target, trace: Trace, root: Session) -> None:
        self.target = target
        self.trace = trace
        self.root = root
        self.made: list[Tenant] = []
        self.sessions: list[Session] = []

    def org(self, **body: Any) -> Tenant:
        name = unique("org")
        org = self.root.json("POST", "/org", expect=201, json={"name": name, **body})
        tenant = Tenant(org["id"], name)
        self.made.append(tenant)
        return tenant

    def adopt(self, org_id: str, name: str) -> Tenant:
        """An org made another way (the portal): deleted at the end like the others."""
        tenant = Tenant(org_id, name)
        self.made.append(tenant)
        return tenant

    def member(
        self, tenant: Tenant, label: str, role: str = "org_user", *, by: Session | None = None
    ) -> Member:
        """Invite (by the System Admin unless ``by``), accept with a password, log in."""
        email = f"{unique(label)}@e2e.example.com"
        inviter = by or self.root
        invite = inviter.json(
            "POST", f"/org/{tenant.id}/user", expect=201, json={"email": email, "role": role}
        )
        token = self._invite_token(invite, email)
        with httpx.Client(base_url=self.target.base_url, event_hooks=self.trace.hooks(), timeout=60) as c:
            r = c.post(f"/api/invite/{token}/accept", json={"name": f"E2E {label}", "password": PASSWORD})
        if r.status_code != 200:
            raise ApiError(f"accepting the invite of {email}: {r.status_code} (see the exchanges below)")
        body = r.json()
        session = Session(self.target, self.trace, body["token"], uuid.UUID(body["user"]["id"]), email)
        self.sessions.append(session)
        member = Member(session, role)
        tenant.members[label] = member
        return member

    def mailed_link(self, email: str, timeout: float = 10) -> str:
        """The accept link of the invite e-mail to ``email``, as its recipient gets it: from the
        outbox (``GET /api/outbox``, a deployment without SMTP) or from Mailpit."""
        deadline = time.monotonic() + timeout
        while True:
            box = self.root.json("GET", "/outbox", params={"to": email})
            if box["mailer"] != "outbox":
                return f"{self.target.base_url}/invite/{self._from_mailpit(email)}"
            for message in box["data"]:
                if m := _LINK.search(message["body"]):
                    return m.group(1)
            if time.monotonic() > deadline:
                raise ApiError(f"no invite e-mail to {email} in the outbox within {timeout:.0f} s")
            time.sleep(0.2)

    def _invite_token(self, invite: dict[str, Any], email: str) -> str:
        if invite.get("link"):  # no SMTP (or it failed): the link comes back to the inviter
            return invite["link"].rstrip("/").rsplit("/", 1)[1]
        if not self.target.mailpit_url:
            raise ApiError(
                f"the invite of {email} went out by e-mail ({invite.get('email')}); "
                "set IAS_E2E_MAILPIT_URL so the harness can read it"
            )
        return self._from_mailpit(email)

    def _from_mailpit(self, email: str, timeout: float = 30) -> str:
        """The invite token from the newest message to ``email`` in Mailpit (its HTTP API)."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=str(self.target.mailpit_url), timeout=30) as mail:
            while time.monotonic() < deadline:
                found = mail.get("/api/v1/search", params={"query": f"to:{email}"}).json()
                for message in found.get("messages") or []:
                    text = mail.get(f"/api/v1/message/{message['ID']}").json().get("Text", "")
                    if m := _TOKEN.search(text):
                        return m.group(1)
                time.sleep(0.5)
        raise ApiError(f"no invite e-mail to {email} in Mailpit within {timeout:.0f} s")

    def cleanup(self) -> list[str]:
        """Disable and delete every org made here; returns their ids."""
        for session in self.sessions:
            session.close()
        gone = []
        for tenant in self.made:
            r = self.root.call("PATCH", f"/org/{tenant.id}", expect=None, json={"status": "disabled"})
            if r.status_code == 404:
                continue  # the test deleted it itself
            assert r.status_code == 200, f"disabling {tenant.name}: {r.status_code}"
            self.root.call("DELETE", f"/org/{tenant.id}", expect=200)
            gone.append(tenant.id)
        self.made.clear()
        return gone


def leftovers(pg: Any, org_id: str, emails: list[str]) -> dict[str, int]:
    """Rows that still belong to a deleted org (the audit trail excepted): all must be 0."""
    counts = {
        table: pg.count(f"SELECT count(*) FROM {table} WHERE {column} = %(org)s", org=org_id)
        for table, column in (
            ("organizations", "id"),
            ("memberships", "org_id"),
            ("invites", "org_id"),
            ("api_keys", "org_id"),
            ("org_budgets", "org_id"),
        )
    }
    counts["users"] = pg.count(
        "SELECT count(*) FROM users WHERE lower(email) = ANY(%(emails)s)", emails=emails
    )
    return counts
