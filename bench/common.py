"""What the benchmarks share: percentiles, and the JSON record of a run in bench/results/."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def save_results(name: str, runs: list[Any], table: str, **extra: Any) -> Path:
    """Print the Markdown table and write `bench/results/<name>-<timestamp>.json`."""
    print("\n" + table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    record = {"machine": {"cpus": os.cpu_count()}, **extra, "runs": [asdict(r) for r in runs], "table": table}
    path.write_text(json.dumps(record, indent=2))
    print(f"\nwritten: {path.relative_to(RESULTS.parents[1])}")
    return path
