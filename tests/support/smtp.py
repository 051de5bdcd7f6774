"""A real SMTP server for tests (aiosmtpd, in a thread on a free port) that keeps what it gets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller

from ias_serve.stack.embedded import free_port


class Collect:
    """An aiosmtpd handler that accepts every message and keeps its envelope."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"

    def subjects_to(self, address: str) -> list[str]:
        return [
            str(message_from_bytes(m.content, policy=policy.default)["Subject"])
            for m in self.messages
            if address in m.rcpt_tos
        ]


@contextmanager
def smtp_server() -> Iterator[tuple[Collect, int]]:
    """(what the server received, its port) while the block runs."""
    handler, port = Collect(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
