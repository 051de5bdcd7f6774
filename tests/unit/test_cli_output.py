"""Pure parts of `ias-admin`: token amounts, people's number formats, the bar chart, the error
→ exit code mapping, invite links, audit time filters."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
import typer

from cli.audit import instant
from cli.client import EXIT_API, EXIT_AUTH, EXIT_UNAVAILABLE, error_from, exit_code_for
from cli.output import bar_chart, detail_lines, money, tokens, when
from cli.tokens import format_token_amount, parse_amount
from cli.users import check_role, invite_token


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("500M", 500_000_000),
        ("2B", 2_000_000_000),
        ("1.5k", 1500),
        ("1_000", 1000),
        ("unlimited", None),
        ("0", 0),
    ],
)
def test_token_amounts_as_the_api_reads_them(text: str, amount: int | None) -> None:
    assert parse_amount(text) == amount
    assert parse_amount(format_token_amount(amount)) == amount


@pytest.mark.parametrize("text", ["12.3456k", "-5", "lots", "1e9", ""])
def test_bad_token_amounts_are_usage_errors(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_amount(text, "--budget")


def test_numbers_for_people() -> None:
    assert [tokens(v) for v in (None, 0, 99_999, 100_000, 1_234_567, 2_000_000_000, 1_500_000_000_000)] == [
        "unlimited",
        "0",
        "99,999",
        "100k",
        "1.2M",
        "2B",
        "1.5T",
    ]
    assert [money(v) for v in (None, "0", "0.00042", "12.5", "1234567.891")] == [
        None,
        "0.00",
        "0.0004",
        "12.5000",
        "1,234,567.89",
    ]
    assert when("2026-03-01T09:00:12.345678Z") == "2026-03-01 09:00:12Z"
    assert when("2026-03-01T10:00:00+01:00") == "2026-03-01 09:00:00Z"
    assert when(None) is None and when("garbage") == "garbage"


def test_bar_chart_scales_to_the_peak() -> None:
    lines = [
        t.plain for t in bar_chart([("03-01", 0), ("03-02", 50), ("03-03", 100), ("03-04", 1)], width=10)
    ]
    assert lines[0] == "03-01 │" + " " * 10 + " 0"
    assert lines[1] == "03-02 │█████     " + " 50"
    assert lines[2] == "03-03 │██████████" + " 100"
    assert lines[3].startswith("03-04 │▏")  # a little is still visible
    assert [t.plain for t in bar_chart([("03-01", 0)], width=4)] == ["03-01 │     0"]


def test_status_to_exit_code() -> None:
    assert [exit_code_for(s) for s in (400, 401, 403, 404, 409, 410, 422, 429, 500, 502, 503)] == [
        EXIT_API,
        EXIT_AUTH,
        *[EXIT_API] * 6,
        *[EXIT_UNAVAILABLE] * 3,
    ]


def test_error_bodies() -> None:
    body = {
        "error": {
            "code": "bad_request",
            "message": "invalid body",
            "details": [{"loc": ["body", "name"], "msg": "required"}],
        }
    }
    e = error_from(httpx.Response(400, json=body))
    assert (e.status, e.code, e.message, e.exit_code) == (400, "bad_request", "invalid body", EXIT_API)
    assert detail_lines(e.details) == ["name: required"]
    e = error_from(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert (e.code, e.exit_code) == ("http_502", EXIT_UNAVAILABLE)
    e = error_from(httpx.Response(401, json={"detail": "Not authenticated"}))
    assert (e.code, e.message, e.exit_code) == ("http_401", "Not authenticated", EXIT_AUTH)


def test_invite_links_and_tokens() -> None:
    token = "iasi_Qm9vABC-_def123"
    assert invite_token(f"http://127.0.0.1:8000/invite/{token}") == token
    assert invite_token(f"https://portal.example.com/base/invite/{token}/?utm=x") == token
    assert invite_token(f"  {token} ") == token
    for bad in ("http://x/other/iasi_abc", "not a token", "short"):
        with pytest.raises(typer.BadParameter):
            invite_token(bad)
    assert check_role("Admin") == "org_admin" and check_role("org-user") == "org_user"


def test_audit_time_filters() -> None:
    now = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    assert instant("2h", "--since", now) == "2026-03-15T10:00:00+00:00"
    assert instant("7d", "--since", now) == "2026-03-08T12:00:00+00:00"
    assert instant("2026-03-01", "--since") == "2026-03-01T00:00:00+00:00"
    assert instant("2026-03-01T09:00:00Z", "--since") == "2026-03-01T09:00:00+00:00"
    assert instant(None, "--since") is None
    with pytest.raises(typer.BadParameter):
        instant("last tuesday", "--since")
