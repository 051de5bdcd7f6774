"""Sending the management API's e-mails (invites): over SMTP, or into an outbox directory.

Both mailers implement :class:`~ias_serve.services.management.context.Mailer`:
``await mailer.send(to=..., subject=..., body=...)`` returns how the message went out,
``"smtp"`` or ``"outbox"``. Without ``IAS_SMTP_HOST`` the deployment uses :class:`OutboxMailer`:
one RFC 5322 ``.eml`` file per message under ``IAS_HOME/outbox``; :func:`read_outbox` lists them
(newest first) for the CLI, the portal and ``GET /api/outbox``.

Neither mailer logs a message body (an invite body holds a one-time link).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, make_msgid, parsedate_to_datetime
from pathlib import Path

from ias_serve.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_SENDER = "ias@localhost"
SMTPS_PORT = 465


def build_message(*, sender: str, to: str, subject: str, body: str) -> EmailMessage:
    """One plain-text UTF-8 message with Date and Message-ID."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(body)
    return msg


class SmtpMailer:
    """Sends through ``IAS_SMTP_*`` with :mod:`aiosmtplib`: STARTTLS when ``IAS_SMTP_STARTTLS``
    (default), implicit TLS on port 465, login when ``IAS_SMTP_USER`` is set; 10 s timeout."""

    def __init__(self, settings: Settings, *, timeout_s: float = 10.0) -> None:
        if not settings.smtp_host:
            raise ValueError("SmtpMailer needs IAS_SMTP_HOST")
        self._settings = settings
        self._timeout_s = timeout_s

    async def send(self, *, to: str, subject: str, body: str) -> str:
        import aiosmtplib

        s = self._settings
        msg = build_message(sender=s.smtp_from, to=to, subject=subject, body=body)
        implicit_tls = s.smtp_port == SMTPS_PORT
        await aiosmtplib.send(
            msg,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            use_tls=implicit_tls,
            start_tls=s.smtp_starttls and not implicit_tls,
            timeout=self._timeout_s,
        )
        log.info("mail sent over SMTP", extra={"to": to, "subject": subject})
        return "smtp"


class OutboxMailer:
    """Writes each message as one ``.eml`` file into ``directory`` (created on first use).

    The file appears atomically (written under a temporary name, then renamed); names sort by
    time: ``<UTC timestamp>-<random>.eml``. Files are readable by the owner only.
    """

    def __init__(self, directory: Path, *, sender: str = DEFAULT_SENDER) -> None:
        self.directory = Path(directory)
        self._sender = sender

    async def send(self, *, to: str, subject: str, body: str) -> str:
        msg = build_message(sender=self._sender, to=to, subject=subject, body=body)
        await asyncio.to_thread(self._write, msg)
        log.info("mail written to the outbox", extra={"to": to, "subject": subject})
        return "outbox"

    def _write(self, msg: EmailMessage) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        tmp = self.directory / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(msg.as_bytes(policy=policy.SMTP))
        final = self.directory / name
        tmp.replace(final)
        return final


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: str
    """The file name without ``.eml``."""
    to: str
    sender: str
    subject: str
    date: datetime | None
    body: str


def _parse(path: Path) -> OutboxMessage:
    with path.open("rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    part = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
    body = part.get_content() if part is not None else ""
    date: datetime | None
    try:
        date = parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        date = None
    return OutboxMessage(
        id=path.stem,
        to=str(msg["To"] or ""),
        sender=str(msg["From"] or ""),
        subject=str(msg["Subject"] or ""),
        date=date,
        body=body,
    )


def _addresses(header: str) -> set[str]:
    """The addresses of a To header, lower-cased (a budget alert goes to all Org Admins at once)."""
    return {addr.strip().lower() for _, addr in getaddresses([header]) if addr}


def read_outbox(directory: Path, *, to: str | None = None, limit: int | None = None) -> list[OutboxMessage]:
    """The outbox's messages, newest first; ``to`` keeps those to that address (case-insensitive;
    one of several recipients counts)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    out: list[OutboxMessage] = []
    for path in sorted(directory.glob("*.eml"), reverse=True):
        try:
            m = _parse(path)
        except OSError:  # removed meanwhile
            continue
        if to is not None and to.strip().lower() not in _addresses(m.to):
            continue
        out.append(m)
        if limit is not None and len(out) >= limit:
            break
    return out
