"""checkov (``deploy/tools/.venv``, from ``make delivery-tools``) over one framework, offline."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.delivery.k8s import MISSING_TOOLS, ROOT, TOOLS

CHECKOV = TOOLS / ".venv/bin/checkov"


def scan(framework: str, directory: Path, *args: str, timeout_s: float = 300) -> dict[str, Any]:
    """checkov's JSON report of ``framework`` over ``directory`` (``args``: e.g. ``--skip-check``).

    Fails when checkov is missing, gives no JSON, reports parsing errors, or scanned nothing of
    that framework; the caller asserts on ``results`` (``passed_checks``, ``failed_checks``,
    ``skipped_checks``) and ``summary``.
    """
    if not CHECKOV.exists():
        raise AssertionError(f"{CHECKOV.relative_to(ROOT)} is missing: {MISSING_TOOLS}")
    proc = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(directory),
            "--framework",
            framework,
            "-o",
            "json",
            "--compact",
            "--skip-download",  # offline: no guidelines/severity look-up
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=ROOT,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"checkov gave no JSON (rc={proc.returncode}):\n{proc.stderr[-3000:]}") from None
    reports = report if isinstance(report, list) else [report]
    mine = [r for r in reports if r.get("check_type") == framework]
    assert mine, f"checkov scanned no {framework}: {proc.stdout[:500]}"
    assert mine[0]["summary"]["parsing_errors"] == 0, mine[0]["summary"]
    return mine[0]
