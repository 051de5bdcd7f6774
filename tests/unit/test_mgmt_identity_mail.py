"""The outbox mailer and its reader (files under a temporary directory), and SmtpMailer's setup."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ias_serve.services.management.mail import OutboxMailer, SmtpMailer, build_message, read_outbox
from ias_serve.settings import Settings


async def test_outbox_writes_one_eml_per_message(tmp_path: Path) -> None:
    box = tmp_path / "outbox"
    mailer = OutboxMailer(box, sender="ias@example.com")
    body = "line 1\nhttp://x/invite/iasi_t\n"
    assert await mailer.send(to="grace@example.com", subject="Hi ü", body=body) == "outbox"
    assert await mailer.send(to="ada@example.com", subject="Second", body="two") == "outbox"
    files = sorted(box.glob("*.eml"))
    assert len(files) == 2
    assert not list(box.glob(".*"))  # no temporary files left
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600

    messages = read_outbox(box)
    assert [m.subject for m in messages] == ["Second", "Hi ü"]  # newest first
    first = messages[1]
    assert first.to == "grace@example.com" and first.sender == "ias@example.com"
    assert "http://x/invite/iasi_t" in first.body and first.date is not None
    assert first.id == files[0].stem

    assert [m.subject for m in read_outbox(box, to="GRACE@example.com")] == ["Hi ü"]
    assert len(read_outbox(box, limit=1)) == 1


def test_reading_a_missing_outbox_is_empty(tmp_path: Path) -> None:
    assert read_outbox(tmp_path / "nope") == []


def test_build_message() -> None:
    msg = build_message(sender="ias@example.com", to="a@b.co", subject="S", body="B")
    assert msg["Message-ID"].endswith("@example.com>")
    assert msg.get_content().strip() == "B"


def test_smtp_mailer_needs_a_host() -> None:
    with pytest.raises(ValueError, match="IAS_SMTP_HOST"):
        SmtpMailer(Settings())
    assert SmtpMailer(Settings(smtp_host="mail.example.com"))
