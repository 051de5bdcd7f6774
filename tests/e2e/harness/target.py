"""Which IAS the E2E suite talks to: a deployed one named by the environment, or one it starts.

Deployed (staging, a Kubernetes cluster, anything reachable)::

    IAS_E2E_BASE_URL          https://ias.staging.example.com   (/v1, /api, /analytics under it)
    IAS_E2E_ADMIN_EMAIL       a System Admin's e-mail
    IAS_E2E_ADMIN_PASSWORD    … and password
    IAS_E2E_DATABASE_URL      postgresql://reader:…@host:5432/ias   (read-only is enough)
    IAS_E2E_CLICKHOUSE_URL    http://reader:…@host:8123/ias         (ClickHouse HTTP interface)
    IAS_E2E_MODEL             the real engine's public name          (default test-model)
    IAS_E2E_FAST_MODEL        a quick model for budget/auth tests    (default echo-model)
    IAS_E2E_MAILPIT_URL       where invite e-mails land when the deployment sends them by SMTP
                              (Mailpit's HTTP API); not needed when invites answer with the link

Nothing set: the suite runs ``ias up`` on embedded defaults in a directory of its own, once for
all pytest-xdist workers (a file lock and a list of holders next to it; the last worker out runs
``ias down``), and reads the URLs, the bootstrap password and the stores from what it printed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from filelock import FileLock

REPO = Path(__file__).resolve().parents[3]
IAS = [sys.executable, "-m", "ias_serve.stack.cli"]
_REQUIRED = ("IAS_E2E_BASE_URL", "IAS_E2E_ADMIN_EMAIL", "IAS_E2E_ADMIN_PASSWORD")
_STORES = ("IAS_E2E_DATABASE_URL", "IAS_E2E_CLICKHOUSE_URL")


@dataclass(frozen=True)
class Target:
    base_url: str
    admin_email: str
    admin_password: str
    database_url: str
    clickhouse_url: str
    model: str = "test-model"
    fast_model: str = "echo-model"
    mailpit_url: str | None = None
    managed_home: str | None = None  # IAS_HOME of the stack this harness started (else None)
    up_output: str = ""  # what `ias up` printed (managed only)

    def __repr__(self) -> str:  # pytest prints fixture values in failure reports: no secrets
        where = f"ias up in {self.managed_home}" if self.managed_home else "deployed"
        return (
            f"Target({self.base_url}, admin {self.admin_email}, model {self.model!r}, "
            f"fast model {self.fast_model!r}, {where})"
        )

    @property
    def api(self) -> str:
        return f"{self.base_url}/api"

    @property
    def v1(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def analytics(self) -> str:
        return f"{self.base_url}/analytics"

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str] = os.environ) -> Target:
        missing = [name for name in (*_REQUIRED, *_STORES) if not env.get(name)]
        if missing:
            raise RuntimeError(
                "IAS_E2E_BASE_URL is set, so the E2E suite targets a deployed IAS; it also needs "
                + ", ".join(missing)
                + " (see tests/e2e/harness/target.py)"
            )
        return cls(
            base_url=env["IAS_E2E_BASE_URL"].rstrip("/"),
            admin_email=env["IAS_E2E_ADMIN_EMAIL"],
            admin_password=env["IAS_E2E_ADMIN_PASSWORD"],
            database_url=env["IAS_E2E_DATABASE_URL"],
            clickhouse_url=env["IAS_E2E_CLICKHOUSE_URL"],
            model=env.get("IAS_E2E_MODEL") or "test-model",
            fast_model=env.get("IAS_E2E_FAST_MODEL") or "echo-model",
            mailpit_url=env.get("IAS_E2E_MAILPIT_URL") or None,
        )


def deployed() -> bool:
    return bool(os.environ.get("IAS_E2E_BASE_URL"))


def ias(args: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """The real `ias` CLI, as a user runs it."""
    return subprocess.run([*IAS, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def stack_env(home: Path, port: int, sql_port: int | None = None) -> dict[str, str]:
    """The environment of a stack of the harness's own: none of the caller's IAS_* settings;
    ``sql_port``: its own read-only ClickHouse port (another stack may hold the default)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAS_")}
    env.update({"IAS_HOME": str(home), "IAS_SERVE_PORT": str(port), "IAS_UP_TIMEOUT_S": "600"})
    if sql_port is not None:
        env["IAS_CLICKHOUSE_SQL_PORT"] = str(sql_port)
    return env


class ManagedStack:
    """One `ias up` stack in ``root``, leased by every worker that needs it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(str(root / "lock"))
        self.record = root / "target.json"
        self.holders = root / "holders.json"

    def env(self, target: Target) -> dict[str, str]:
        return managed_env(target)

    @contextmanager
    def lease(self, holder: str) -> Iterator[Target]:
        with self.lock:
            target = self._running() or self._start()
            self._set_holders(self._get_holders() | {holder})
        try:
            yield target
        finally:
            with self.lock:
                left = self._get_holders() - {holder}
                self._set_holders(left)
                if not left and self.record.exists():
                    ias(["down"], self.env(target))
                    self.record.unlink()

    def _get_holders(self) -> set[str]:
        return set(json.loads(self.holders.read_text())) if self.holders.exists() else set()

    def _set_holders(self, holders: set[str]) -> None:
        self.holders.write_text(json.dumps(sorted(holders)))

    def _running(self) -> Target | None:
        if not self.record.exists():
            return None
        target = Target(**json.loads(self.record.read_text()))
        if ias(["status"], self.env(target), timeout=60).returncode == 0:
            return target
        return None  # stopped under us (the lifecycle test ends with `ias down`): start again

    def _start(self) -> Target:
        from ias_serve.stack.embedded import free_port

        home = self.root / f"home-{int(time.time())}"
        env = stack_env(home, free_port(), sql_port=free_port())
        print(f"\n[e2e] starting the stack: ias up (IAS_HOME={home}) …", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        up = ias(["up"], env)
        if up.returncode != 0:
            raise RuntimeError(f"`ias up` failed ({up.returncode}):\n{up.stdout}\n{up.stderr}")
        print(f"[e2e] stack up in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
        out = up.stdout
        password = _printed(out, "password").split()[0]
        processes = json.loads((home / "state.json").read_text())["processes"]
        target = Target(
            base_url=f"http://127.0.0.1:{env['IAS_SERVE_PORT']}",
            admin_email=_printed(out, "System Admin"),
            admin_password=password,
            database_url=processes["postgres"]["url"],
            clickhouse_url=_printed(out, "ClickHouse (read-only)"),
            managed_home=str(home),
            up_output=out,
        )
        self.record.write_text(json.dumps(asdict(target)))
        return target


def managed_env(target: Target) -> dict[str, str]:
    """The environment `ias` commands need to address a stack the harness started."""
    assert target.managed_home is not None, "not a stack of the harness's own"
    sql_port = urlsplit(target.clickhouse_url).port
    return stack_env(Path(target.managed_home), int(urlsplit(target.base_url).port or 80), sql_port)


def _printed(out: str, label: str) -> str:
    """The value `ias up` printed after ``label`` (its summary is ``  label   value``)."""
    m = re.search(rf"^\s+{re.escape(label)}\s+(\S.*)$", out, re.MULTILINE)
    if m is None:
        raise RuntimeError(f"`ias up` printed no {label!r}:\n{out}")
    return m.group(1).strip()
