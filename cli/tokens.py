"""Token amounts on the command line (``500M``, ``2B``, ``1.5k``, ``unlimited``): the server's
own pure parser and formatter (:mod:`ias_serve.domain.budget`), so the CLI accepts exactly what
the API accepts and refuses a bad amount before any request (exit 2)."""

from __future__ import annotations

import typer

from ias_serve.domain.budget import format_token_amount, parse_token_amount

__all__ = ["format_token_amount", "parse_amount"]


def parse_amount(value: str, param: str = "AMOUNT") -> int | None:
    """``value`` as a whole number of tokens, ``None`` for unlimited; a usage error otherwise."""
    try:
        return parse_token_amount(value)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint=param) from None
