"""`ias-admin` error paths against a real server: each with its exit code and its
``error: <code>: <message>`` line on stderr (stdout stays empty, also with ``--json``).

0 ok · 1 API refusal (4xx) · 2 bad usage · 3 authentication required/failed/expired (every
401, a wrong password at login included) · 4 unreachable server or 5xx.
"""

from __future__ import annotations

import asyncio
import configparser
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from ias_serve.db.engine import make_engine, make_sessionmaker
from ias_serve.stack.embedded import free_port
from tests.component.cli_support import PASSWORD, Cli, Server
from tests.component.gateway_harness import new_session, serve_in_thread


@pytest.fixture(scope="module")
def world(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """root (System Admin), an org, its Org Admin `ada` and Org User `bob`, all logged in."""
    base = tmp_path_factory.mktemp("people")
    root = Cli(base / "root", server.url)
    root.login(server.admin_email, server.admin_password)
    org = f"errs-{uuid.uuid4().hex[:6]}"
    root.json("org", "create", org)
    people: dict[str, object] = {"root": root, "org": org}
    for name, role in (("ada", "org_admin"), ("bob", "org_user")):
        email = f"{name}-{uuid.uuid4().hex[:6]}@example.com"
        link = root.json("user", "invite", email, "--org", org, "--role", role)["link"]
        person = Cli(base / name, server.url)
        person.ok(
            "invite", "accept", link, "--url", server.url, "--name", name, "--password-stdin", input=PASSWORD
        )
        people[name], people[f"{name}_email"] = person, email
    return people


# --- 3: authentication ----------------------------------------------------------------------------


def test_no_session_at_all_exits_3_before_any_request(server: Server, tmp_path: Path) -> None:
    fresh = Cli(tmp_path / "fresh")
    r = fresh.fails(3, "org", "list", code="not_logged_in", env={"IAS_URL": server.url})
    assert r.stdout == "" and "ias-admin login" in r.stderr


def test_wrong_password_exits_3_and_stores_nothing(server: Server, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "c", server.url)
    for email in (server.admin_email, "nobody@example.com"):  # one answer for both
        r = cli.fails(
            3,
            "login",
            "--url",
            server.url,
            "--email",
            email,
            "--password-stdin",
            input="wrong password, long enough\n",
            code="invalid_credentials",
        )
        assert r.stdout == ""
    assert not cli.credentials.exists()


def test_unknown_revoked_and_expired_tokens_exit_3(server: Server, world: dict, tmp_path: Path) -> None:
    root: Cli = world["root"]  # type: ignore[assignment]
    url = {"IAS_URL": server.url}
    # a token the server never issued
    root.fails(3, "whoami", env={**url, "IAS_TOKEN": "iass_" + "x" * 43}, code="invalid_session")

    # a revoked one: log in a second profile, keep its token, log it out
    root.ok(
        "--profile",
        "second",
        "login",
        "--url",
        server.url,
        "--email",
        server.admin_email,
        "--password-stdin",
        input=server.admin_password + "\n",
    )
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(root.credentials)
    token = parser["second"]["token"]
    assert root.json("--profile", "second", "logout")["session"] == "revoked"
    r = root.fails(3, "org", "list", env={**url, "IAS_TOKEN": token}, code="invalid_session")
    assert "run `ias-admin login`" in r.stderr
    root.fails(3, "--profile", "second", "org", "list", code="not_logged_in")  # its token is gone
    assert root.json("--profile", "second", "logout")["session"] == "not_logged_in"

    # an expired one (issued with a lifetime already over)
    me = root.json("whoami")

    async def expired() -> str:
        engine = make_engine(server.settings.database_url or "")
        try:
            async with make_sessionmaker(engine)() as s, s.begin():
                return await new_session(s, uuid.UUID(me["user"]["id"]), ttl=timedelta(seconds=-5))
        finally:
            await engine.dispose()

    root.fails(
        3, "whoami", "--json", env={**url, "IAS_TOKEN": asyncio.run(expired())}, code="invalid_session"
    )
    root.ok("whoami")  # the profile's own session is untouched


# --- 1: refusals ----------------------------------------------------------------------------------


def test_forbidden_actions_exit_1(world: dict) -> None:
    ada: Cli = world["ada"]  # type: ignore[assignment]
    bob: Cli = world["bob"]  # type: ignore[assignment]
    org = str(world["org"])
    r = bob.fails(1, "user", "list", code="permission_denied")  # Org Users cannot list members
    assert r.stdout == ""
    bob.fails(1, "user", "invite", "eve@example.com", code="permission_denied")
    bob.fails(1, "budget", "set", "1M", code="permission_denied")
    bob.fails(1, "audit", "list", code="permission_denied")
    ada.fails(
        1, "org", "create", f"mine-{uuid.uuid4().hex[:6]}", code="permission_denied"
    )  # System Admins only
    ada.fails(1, "usage", "system", code="permission_denied")
    ada.fails(1, "model", "add", "x", "--serve", "echo-model", code="permission_denied")
    root: Cli = world["root"]  # type: ignore[assignment]
    root.fails(
        1, "key", "create", "--name", "k", "--org", org, code="permission_denied"
    )  # admins hold no keys
    r = bob.fails(1, "user", "list", "--json", code="permission_denied")
    assert r.stdout == ""  # --json: errors never on stdout


def test_not_found_and_conflicts_exit_1(world: dict) -> None:
    root: Cli = world["root"]  # type: ignore[assignment]
    org = str(world["org"])
    root.fails(1, "org", "show", "no-such-org-anywhere", code="org_not_found")
    root.fails(1, "org", "show", str(uuid.uuid4()), code="not_found")
    root.fails(1, "org", "create", org, code="conflict")  # without --if-not-exists
    root.fails(1, "user", "remove", "nobody@example.com", "--org", org, code="member_not_found")
    ada: Cli = world["ada"]  # type: ignore[assignment]
    ada.fails(1, "user", "remove", str(world["ada_email"]), code="last_org_admin")
    r = ada.fails(1, "invite", "accept", "iasi_" + "n" * 40, "--url", root.url or "", "--no-login")
    assert "error: " in r.stderr


# --- 4: unreachable, 5xx, not an IAS server -------------------------------------------------------


def test_unreachable_server_exits_4(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "c")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    cli.fails(
        4,
        "login",
        "--url",
        url,
        "--email",
        "a@example.com",
        "--password-stdin",
        input="x" * 12,
        code="unreachable",
    )
    cli.fails(4, "org", "list", env={"IAS_URL": url, "IAS_TOKEN": "iass_x"}, code="unreachable")


@pytest.fixture(scope="module")
def odd_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server answering 503 in the API's error shape on /api/*, 502 with HTML on /bad/*,
    and an HTML page with 200 on /html/*; it records every request's headers."""
    seen: list[dict[str, str]] = []

    async def api(request: Request) -> JSONResponse:
        seen.append(dict(request.headers))
        return JSONResponse({"error": {"code": "service_unavailable", "message": "down for a moment"}}, 503)

    async def html(request: Request) -> HTMLResponse:
        return HTMLResponse("<html>hello</html>")

    app = Starlette(
        routes=[Route("/api/{rest:path}", api, methods=["GET", "POST"]), Route("/{rest:path}", html)]
    )
    port = free_port()
    with serve_in_thread(app, port):
        yield f"http://127.0.0.1:{port}", seen


def test_5xx_exits_4_and_a_non_ias_server_exits_4(odd_server: tuple[str, list], tmp_path: Path) -> None:
    url, _ = odd_server
    cli = Cli(tmp_path / "c")
    r = cli.fails(
        4, "org", "list", "--json", env={"IAS_URL": url, "IAS_TOKEN": "iass_x"}, code="service_unavailable"
    )
    assert r.stdout == ""
    # a web server that is not IAS: an HTML page where the API should answer JSON
    cli.fails(4, "usage", "me", env={"IAS_URL": url + "/html", "IAS_TOKEN": "iass_x"}, code="bad_response")


def test_profile_token_is_not_sent_to_another_server(
    server: Server, world: dict, odd_server: tuple[str, list]
) -> None:
    root: Cli = world["root"]  # type: ignore[assignment]
    url, seen = odd_server
    seen.clear()
    # IAS_URL points elsewhere, no IAS_TOKEN: the profile's token stays home
    root.fails(3, "org", "list", env={"IAS_URL": url}, code="not_logged_in")
    assert seen == []
    root.fails(4, "org", "list", env={"IAS_URL": url, "IAS_TOKEN": "iass_given"})
    assert seen and seen[-1]["authorization"] == "Bearer iass_given"


# --- 2: usage -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("org", "create"),  # missing NAME
        ("org", "frobnicate"),  # no such command
        ("budget", "set", "12.3456k"),  # not a whole number of tokens
        ("budget", "set", "lots"),
        ("org", "create", "x", "--budget", "-5"),
        ("org", "list", "--status", "sleeping"),
        ("org", "list", "--limit", "0"),
        ("key", "create"),  # --name is required
        ("key", "create", "--name", "k", "--expires-in-days", "3", "--expires-at", "2030-01-01"),
        ("usage", "me", "--days", "0"),
        ("usage", "me", "--days", "3", "--from", "2026-01-01"),
        ("audit", "list", "--since", "yesterday-ish"),
        ("model", "add", "m"),  # neither --serve nor --remote-url
        ("invite", "accept", "not a link"),
        ("--profile", "../../etc", "whoami"),
        ("user", "set-role", "a@example.com", "owner"),
    ],
)
def test_bad_usage_exits_2(world: dict, args: tuple[str, ...]) -> None:
    root: Cli = world["root"]  # type: ignore[assignment]
    r = root.run(*args)
    assert r.exit_code == 2, (args, r.exit_code, r.stdout, r.stderr)
    assert r.stdout == ""


def test_bad_apply_file_exits_2(world: dict, tmp_path: Path) -> None:
    root: Cli = world["root"]  # type: ignore[assignment]
    bad = tmp_path / "bad.yaml"
    bad.write_text("orgs:\n  - name: a\n    budjet: 5M\n")
    r = root.fails(2, "apply", "-f", str(bad), code="file")
    assert "budjet" in r.stderr
    bad.write_text("orgs: [\n")
    root.fails(2, "apply", "-f", str(bad), code="file")
    root.fails(2, "apply", "-f", str(tmp_path / "missing.yaml"), code="file")
