"""What `ias up` records under IAS_HOME: PIDs, ports, URLs, log files.

Layout of IAS_HOME::

    state.json            this file's model (PIDs of what `ias up` started, sticky ports)
    data/postgres/        data of the embedded servers (kept by `ias down`)
    data/valkey/ data/nats/ data/clickhouse/
    logs/<component>.log  one log per process `ias up` started
    serve_status.json     application statuses, rewritten every second by the launcher
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field

from ias_serve.settings import Settings


class ProcessRecord(BaseModel):
    pid: int
    port: int
    url: str
    log: str
    stop_signal: int = 15
    cmd_hint: str = Field(default="", description="A word of its command line, checked before a kill.")


class StackState(BaseModel):
    processes: dict[str, ProcessRecord] = Field(default_factory=dict)
    ports: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def load(cls, home: Path) -> StackState:
        path = home / "state.json"
        if not path.exists():
            return cls()
        try:
            return cls.model_validate_json(path.read_text())
        except ValueError:
            # unreadable state: start over, the data directories are untouched
            return cls()

    def save(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        tmp = home / "state.json.tmp"
        tmp.write_text(json.dumps(self.model_dump(), indent=2))
        tmp.replace(home / "state.json")


class Paths:
    def __init__(self, home: Path) -> None:
        self.home = home

    def data(self, name: str) -> Path:
        return self.home / "data" / name

    def log(self, name: str) -> Path:
        return self.home / "logs" / f"{name}.log"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def haproxy(self) -> Path:
        """Serve's HAProxy files. Not under IAS_HOME: Ray adds a 56-character folder and HAProxy
        refuses a stats socket path longer than 97 characters, so this stays short."""
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"ias-haproxy-{digest}"

    @property
    def serve_status(self) -> Path:
        return self.home / "serve_status.json"


def clickhouse_dsn(settings: Settings) -> str:
    """IAS_CLICKHOUSE_URL, or the embedded default: a chDB directory under IAS_HOME (`ias up`
    passes it to Ray as IAS_CLICKHOUSE_URL, so the default matters only when run otherwise)."""
    return settings.clickhouse_url or f"chdb://{Paths(settings.home_dir).data('clickhouse')}"
