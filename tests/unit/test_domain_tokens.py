from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from ias_serve.domain import tokens
from ias_serve.domain.tokens import TokenKind


def test_new_token_scheme_and_entropy() -> None:
    s = tokens.new_token(TokenKind.SESSION)
    i = tokens.new_token(TokenKind.INVITE)
    assert s.startswith("iass_") and i.startswith("iasi_")
    assert len(s) == len("iass_") + 43
    assert tokens.looks_like(TokenKind.SESSION, s)
    assert not tokens.looks_like(TokenKind.INVITE, s)
    assert not tokens.looks_like(TokenKind.SESSION, "iass_")
    assert len({tokens.new_token(TokenKind.SESSION) for _ in range(100)}) == 100


def test_hash_token() -> None:
    t = "iass_abc"
    assert tokens.hash_token(t) == hashlib.sha256(b"iass_abc").hexdigest()
    assert tokens.hash_token(f" {t}\n") == tokens.hash_token(t)
    assert tokens.hash_token(t) != tokens.hash_token(t + "d")


def test_issue_token() -> None:
    now = datetime(2025, 1, 31, 23, 0, tzinfo=UTC)
    issued = tokens.issue_token(TokenKind.INVITE, 7200, now=now)
    assert issued.token.startswith("iasi_")
    assert issued.token_hash == tokens.hash_token(issued.token)
    assert issued.expires_at == datetime(2025, 2, 1, 1, 0, tzinfo=UTC)
    assert issued.token not in repr(issued)


def test_issue_token_default_now() -> None:
    before = datetime.now(UTC)
    issued = tokens.issue_token(TokenKind.SESSION, 60)
    assert before + timedelta(seconds=59) < issued.expires_at <= datetime.now(UTC) + timedelta(seconds=60)


@pytest.mark.parametrize("ttl", [0, -1])
def test_issue_token_rejects_non_positive_ttl(ttl: int) -> None:
    with pytest.raises(ValueError):
        tokens.issue_token(TokenKind.SESSION, ttl)


def test_expiry_and_is_expired() -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    exp = tokens.expiry(10, now=now)
    assert not tokens.is_expired(exp, now=now + timedelta(seconds=9))
    assert tokens.is_expired(exp, now=now + timedelta(seconds=10))  # boundary: expired
    # naive datetimes are read as UTC
    assert tokens.is_expired(datetime(2025, 6, 1), now=now)
    assert tokens.expiry(10, now=datetime(2025, 6, 1)) == exp
    assert tokens.is_expired(datetime(2000, 1, 1, tzinfo=UTC))
    assert not tokens.is_expired(datetime(2999, 1, 1, tzinfo=UTC))
