"""Servers a single test owns (to stop and restart them), on top of the session's shared ones."""

from __future__ import annotations

from pathlib import Path

from ias_serve.stack.embedded import EmbeddedValkey, free_port, stop_pid


class OwnValkey:
    """A Valkey for one test, restartable on the same port and data directory."""

    def __init__(self, base: Path) -> None:
        self.port = free_port()
        self.base = base
        self.pid: int | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        srv = EmbeddedValkey(self.base / "data", self.port, self.base / "valkey.log", persist=True)
        self.pid = srv.start().pid

    def stop(self) -> None:
        if self.pid is not None:
            stop_pid(self.pid)
            self.pid = None
