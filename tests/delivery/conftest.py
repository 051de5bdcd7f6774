"""Fixtures of the offline delivery checks (no cluster, no Docker engine, no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.delivery.k8s import render, values_files


def _label(path: Path | None) -> str:
    return "chart defaults" if path is None else f"{path.parent.name} values"


@pytest.fixture(scope="session")
def renders() -> dict[str, list[dict[str, Any]]]:
    """The chart rendered once per values file: {label: objects}."""
    return {_label(v): render(v) for v in values_files()}


@pytest.fixture(scope="session")
def default_render(renders: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return renders["chart defaults"]
