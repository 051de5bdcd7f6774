"""What every command group shares: the invocation's environment (profile, ``--json``, the API
client), the error guard that turns :class:`CliError` into ``error: …`` and an exit code, the
common options, and the look-ups that let people name things (``acme``, ``ada@x``) where the
API wants ids."""

from __future__ import annotations

import functools
import re
import sys
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import typer
from rich.text import Text

from cli.client import EXIT_API, EXIT_USAGE, Client, CliError
from cli.config import ConfigError, Credentials, Profile, Target, check_profile_name, resolve
from cli.output import Output, console, error

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON on stdout, and nothing else.")
]
OrgOpt = Annotated[
    str | None,
    typer.Option(
        "--org",
        "-o",
        envvar="IAS_ORG",
        help="Organisation id or name (default: your only organisation).",
        show_default=False,
    ),
]


@dataclass
class Env:
    """One invocation: the profile, the output mode, the API client (made on first use)."""

    profile_name: str
    json: bool = False
    _client: Client | None = field(default=None, repr=False)
    _credentials: Credentials | None = field(default=None, repr=False)
    _me: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def out(self) -> Output:
        return Output(self.json)

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            try:
                self._credentials = Credentials.load()
            except ConfigError as e:
                raise CliError("config", str(e), EXIT_USAGE) from None
            if self._credentials.loose_mode:
                self.out.warn(f"{self._credentials.path} is readable by other users: run chmod 600 on it")
        return self._credentials

    @property
    def profile(self) -> Profile:
        return self.credentials.get(self.profile_name)

    @property
    def target(self) -> Target:
        try:
            return resolve(self.profile)
        except ConfigError as e:
            raise CliError("config", str(e), EXIT_USAGE) from None

    @property
    def api(self) -> Client:
        if self._client is None:
            t = self.target
            self._client = Client(t.url, t.token)
        return self._client

    def me(self) -> dict[str, Any]:
        """``GET /api/auth/me``, once per invocation."""
        if self._me is None:
            self._me = self.api.get("/api/auth/me")
        return self._me

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


_current: ContextVar[Env | None] = ContextVar("ias_admin_env", default=None)


def start(e: Env) -> None:
    """Make ``e`` the invocation's environment (the root callback, before any command)."""
    _current.set(e)


def env(json_flag: bool = False) -> Env:
    """The invocation's :class:`Env` (made by the root callback); ``--json`` of the command or
    of the root (``ias-admin --json org list``) turns JSON on."""
    e = _current.get()
    if e is None:
        e = Env(check_profile_name("default"))
        _current.set(e)
    if json_flag:
        e.json = True
    return e


def guard(f: F) -> F:
    """Run a command; a :class:`CliError` prints ``error: <code>: <message>`` on stderr and
    exits with its code (1 API, 2 usage, 3 auth, 4 unreachable/5xx)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except CliError as e:
            error(e.code, e.message, e.details)
            if e.exit_code == 3 and e.code not in ("invalid_credentials", "not_logged_in"):
                console(stderr=True).print(
                    Text(
                        "hint: log in again: run `ias-admin login` (or set IAS_TOKEN)",
                        style="dim",
                    )
                )
            raise typer.Exit(e.exit_code) from None
        finally:
            current = _current.get()
            if current is not None:
                current.close()
            _current.set(None)

    return wrapper  # type: ignore[return-value]


class Group(typer.Typer):
    """A command group whose commands all run under :func:`guard`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("add_completion", False)
        kwargs.setdefault("rich_markup_mode", "markdown")
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(f: F) -> F:
            register(guard(f))
            return f

        return decorator


def usage_error(message: str) -> CliError:
    return CliError("usage", message, EXIT_USAGE)


def not_found(what: str, ref: str) -> CliError:
    return CliError(f"{what}_not_found", f"no {what} {ref!r}", EXIT_API)


def as_uuid(ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref.strip())
    except ValueError:
        return None


def norm_email(value: str) -> str:
    return value.strip().casefold()


def looks_like_email(value: str) -> bool:
    return bool(re.fullmatch(r"[^@\s]+@[^@\s]+", value.strip()))


# --- look-ups ----------------------------------------------------------------------------------


def find_org(e: Env, ref: str) -> dict[str, Any] | None:
    """The org ``ref`` names (an id, or a name, case-insensitively) as the caller sees it."""
    if (oid := as_uuid(ref)) is not None:
        return e.api.get(f"/api/org/{oid}")
    want = ref.strip().casefold()
    for org in e.api.pages("/api/org", name=ref.strip()):
        if org["name"].casefold() == want:
            return org
    return None


def org_id(e: Env, ref: str | None) -> str:
    """The id of the org named by ``--org``, or the caller's only organisation."""
    if ref:
        if (oid := as_uuid(ref)) is not None:
            return str(oid)
        org = find_org(e, ref)
        if org is None:
            raise not_found("org", ref)
        return str(org["id"])
    memberships = e.me()["memberships"]
    if len(memberships) == 1:
        return str(memberships[0]["org_id"])
    names = ", ".join(m["org_name"] for m in memberships)
    raise usage_error(
        "give --org (or IAS_ORG): "
        + (
            f"you are a member of {len(memberships)} organisations ({names})"
            if memberships
            else "you are a member of none"
        )
    )


def find_member(e: Env, oid: str, ref: str) -> dict[str, Any]:
    """A member of the org by user id or e-mail address."""
    uid = as_uuid(ref)
    want = norm_email(ref)
    offset = 0
    while True:
        page = e.api.get(f"/api/org/{oid}/user", limit=1000, offset=offset)
        for m in page["data"]:
            if (uid is not None and m["id"] == str(uid)) or m["email"].casefold() == want:
                return m
        offset += len(page["data"])
        if not page["data"] or offset >= page["count"]:
            raise not_found("member", ref)


def all_members(e: Env, oid: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = e.api.get(f"/api/org/{oid}/user", limit=1000, offset=len(rows))
        rows.extend(page["data"])
        if not page["data"] or len(rows) >= page["count"]:
            return rows


def password_from_stdin() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise usage_error("--password-stdin: nothing on stdin")
    return password
