"""`ias up` on bad input: says what is wrong and how to fix it, exits non-zero, and leaves no
half-started process behind. Real processes, the real CLI; no Ray needed (each case fails
before Serve would start)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ias_serve.errors import ConfigurationError
from ias_serve.stack.embedded import _find_binary, free_port, processes_mentioning

REPO = Path(__file__).resolve().parents[2]


def ias(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ias_serve.stack.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def processes_under(path: Path) -> list[str]:
    return list(processes_mentioning(path).values())


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("IAS_")}
    e.update({"IAS_HOME": str(tmp_path / "home"), "IAS_SERVE_PORT": str(free_port())})
    return e


def dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_port_in_use_fails_before_starting_anything(env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(env["IAS_SERVE_PORT"])))
        busy.listen()
        res = ias(["up"], env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "already in use" in res.stderr and "IAS_SERVE_PORT" in res.stderr
    assert processes_under(Path(env["IAS_HOME"])) == []


def test_stale_pid_file_then_failing_step_leaves_nothing_running(env: dict[str, str], tmp_path: Path) -> None:
    """A stale record is cleaned up; when a later step fails (here: a Serve config with a typo),
    the stores this run started are stopped again."""
    home = Path(env["IAS_HOME"])
    home.mkdir()
    stale = dead_pid()
    (home / "state.json").write_text(
        json.dumps(
            {
                "processes": {
                    "postgres": {
                        "pid": stale,
                        "port": free_port(),
                        "url": "postgresql://x@127.0.0.1:1/ias",
                        "log": str(home / "logs/postgres.log"),
                        "cmd_hint": "postgres",
                    }
                },
                "ports": {},
            }
        )
    )
    bad = tmp_path / "serve_config.yaml"
    bad.write_text("applications:\n  - name: gateway\n    route_prefix: /v1\n    imprt_path: x:y\n")
    env["IAS_SERVE_CONFIG"] = str(bad)
    res = ias(["up"], env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"stale record (pid {stale}" in res.stdout
    assert "the Serve launcher exited" in res.stderr and "import_path" in res.stderr
    assert processes_under(home) == []
    assert json.loads((home / "state.json").read_text())["processes"] == {}


def test_unreachable_database_url(env: dict[str, str], refused_port: int) -> None:
    env["IAS_DATABASE_URL"] = f"postgresql://postgres:s3cret-pw@127.0.0.1:{refused_port}/ias"
    res = ias(["up"], env)
    assert res.returncode == 1
    assert "s3cret-pw" not in res.stdout + res.stderr and "postgres:***@" in res.stderr
    assert "IAS_DATABASE_URL" in res.stderr and "does not answer" in res.stderr
    assert "unset IAS_DATABASE_URL" in res.stderr
    assert processes_under(Path(env["IAS_HOME"])) == []


def test_malformed_clickhouse_dsn_is_a_usage_error(env: dict[str, str]) -> None:
    env["IAS_CLICKHOUSE_URL"] = "mysql://localhost/ias"
    res = ias(["up"], env)
    assert res.returncode == 2
    assert "IAS_CLICKHOUSE_URL must start with chdb://" in res.stderr


def test_missing_serve_config(env: dict[str, str], tmp_path: Path) -> None:
    env["IAS_SERVE_CONFIG"] = str(tmp_path / "nope.yaml")
    res = ias(["up"], env)
    assert res.returncode == 1
    assert "nope.yaml not found" in res.stderr and "IAS_SERVE_CONFIG" in res.stderr
    assert processes_under(Path(env["IAS_HOME"])) == []


def test_missing_binary_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"no-such-server binary not found .*pip install -e"):
        _find_binary("no-such-server", [tmp_path / "bin" / "no-such-server"])


def test_status_and_down_on_an_empty_home(env: dict[str, str]) -> None:
    st = ias(["status"], env)
    assert st.returncode == 1 and "not started" in st.stdout
    down = ias(["down"], env)
    assert down.returncode == 0 and "nothing recorded" in down.stdout


def test_too_short_bootstrap_password_is_refused_and_rolled_back(env: dict[str, str]) -> None:
    env["IAS_BOOTSTRAP_ADMIN_PASSWORD"] = "short"
    res = ias(["up"], env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "password" in res.stderr.lower() and "Traceback" not in res.stderr
    assert processes_under(Path(env["IAS_HOME"])) == []
