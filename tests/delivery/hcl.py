"""terraform/ read with python-hcl2, as plain Python values (for tests/delivery)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import hcl2


def _unquote(value: Any) -> Any:
    """python-hcl2 8 keeps the quotes of string literals and keys (`'"gcs"'`); 7 does not."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            _unquote(k): plain(v)
            for k, v in node.items()
            if not (isinstance(k, str) and k.startswith("__") and k.endswith("__"))
        }
    if isinstance(node, list):
        return [plain(v) for v in node]
    return _unquote(node)


@cache
def load(path: Path) -> dict[str, Any]:
    """A .tf or .tfvars file."""
    with path.open(encoding="utf-8") as f:
        return plain(hcl2.load(f))
