"""What `ias-admin` prints: rich tables for people, JSON (and nothing else) with ``--json``.

stdout carries the result only; errors, hints and warnings go to stderr. Data from the server is
never interpreted as rich markup (a name like ``[red]x`` prints as written).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

PIPE_WIDTH = 160  # not a terminal: wide enough that ids are never cut


def console(stderr: bool = False) -> Console:
    """A console on the current ``sys.stdout``/``sys.stderr`` (read at each write)."""
    stream = sys.stderr if stderr else sys.stdout
    is_tty = hasattr(stream, "isatty") and stream.isatty()
    width = None if is_tty else int(os.environ.get("COLUMNS") or PIPE_WIDTH)
    return Console(stderr=stderr, markup=False, highlight=False, emoji=False, width=width, soft_wrap=False)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


class Output:
    """The one writer of a command: ``json`` decides between JSON and human output."""

    def __init__(self, json_mode: bool) -> None:
        self.json = json_mode

    def result(self, data: Any, human: Callable[[], None] | None = None) -> None:
        """``data`` as JSON with ``--json``; else ``human()`` (or nothing)."""
        if self.json:
            sys.stdout.write(dumps(data) + "\n")
            sys.stdout.flush()
        elif human is not None:
            human()

    def json_line(self, data: Any) -> None:
        """One compact JSON document on its own line (streams: ``audit list --follow --json``)."""
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=_json_default) + "\n")
        sys.stdout.flush()

    def print(self, *parts: Any, style: str | None = None) -> None:
        """Human output only (ignored with ``--json``)."""
        if not self.json:
            console().print(*parts, style=style)

    def info(self, message: str) -> None:
        """A side note for people, on stderr (never mixed into stdout)."""
        console(stderr=True).print(Text(message, style="dim"))

    def page_note(self, page: dict[str, Any]) -> None:
        """Where a page of a listing stands (stderr): ``2 of 5; next page: --cursor …``."""
        if page.get("next_cursor"):
            shown, cursor = len(page["data"]), page["next_cursor"]
            self.info(f"{shown} of {page['count']}; next page: --cursor {cursor} (or --all)")
        else:
            self.info(f"{page['count']} in all")

    def warn(self, message: str) -> None:
        console(stderr=True).print(Text(f"warning: {message}", style="yellow"))


def error(code: str, message: str, details: Any = None) -> None:
    """``error: <code>: <message>`` on stderr (plus the fields of a validation error)."""
    err = console(stderr=True)
    err.print(Text(f"error: {code}: {message}", style="red"))
    for line in detail_lines(details):
        err.print(Text(f"  {line}", style="red"))


def detail_lines(details: Any) -> list[str]:
    if isinstance(details, list):
        out = []
        for d in details[:20]:
            if isinstance(d, dict) and "msg" in d:
                loc = ".".join(str(p) for p in d.get("loc", []) if p != "body")
                out.append(f"{loc}: {d['msg']}" if loc else str(d["msg"]))
            else:
                out.append(json.dumps(d, default=str))
        return out
    if isinstance(details, dict) and details:
        return [f"{k}: {v}" for k, v in details.items()]
    return []


# --- tables and values -----------------------------------------------------------------------


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    no_wrap: Sequence[str] = (),
) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, header_style="bold")
    for c in columns:
        numeric = c in NUMERIC_COLUMNS
        t.add_column(c, no_wrap=c in no_wrap or c in ("id", "key id"), justify="right" if numeric else "left")
    for row in rows:
        t.add_row(*(cell(v) for v in row))
    return t


NUMERIC_COLUMNS = frozenset(
    {"requests", "input", "output", "total", "tokens", "cost", "count", "used", "limit", "remaining"}
)


def cell(value: Any) -> Text:
    if value is None:
        return Text("-", style="dim")
    if isinstance(value, Text):
        return value
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    return Text(str(value))


def when(value: str | None) -> str | None:
    """An API timestamp shortened for a table: ``2026-03-01 09:00:12Z`` (UTC)."""
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if ts.utcoffset() is not None:
        from datetime import UTC

        ts = ts.astimezone(UTC)
        return ts.strftime("%Y-%m-%d %H:%M:%SZ")
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def count(value: int | None) -> str | None:
    return None if value is None else f"{value:,}"


def tokens(value: int | None) -> str:
    """Token amounts for people: ``unlimited``, ``1,234``, ``12.5M``."""
    if value is None:
        return "unlimited"
    if value < 100_000:
        return f"{value:,}"
    for unit, size in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if value >= size:
            text = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return str(value)  # pragma: no cover


def money(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        return value
    return f"{d:.4f}" if d != 0 and abs(d) < 1000 else f"{d:,.2f}"


def bar_chart(days: Sequence[tuple[str, int]], *, width: int = 40) -> list[Text]:
    """A horizontal bar per day (``█`` eighths for the remainder): ``03-15 │████▌ 12.5k``."""
    peak = max((v for _, v in days), default=0)
    blocks = " ▏▎▍▌▋▊▉█"
    lines = []
    for day, value in days:
        eighths = round(value * width * 8 / peak) if peak else 0
        full, rest = divmod(eighths, 8)
        bar = "█" * full + (blocks[rest] if rest else "")
        if value and not bar:
            bar = "▏"
        line = Text(f"{day} │", style="dim")
        line.append(bar.ljust(width), style="cyan")
        line.append(f" {tokens(value)}")
        lines.append(line)
    return lines
