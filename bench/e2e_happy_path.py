"""How long the E2E Happy Path takes once the stack is up (issue 8 item 4; a benchmark, not a
timed test). Goal: under 60 s on this machine.

    .venv/bin/python -m bench.e2e_happy_path [--runs 3] [--goal-s 60]

Against the IAS the ``IAS_E2E_*`` variables name (tests/e2e/harness/target.py), or, with none
set, a stack of its own: one ``ias up`` (real CPU engines, a few minutes, not counted) in a
temp directory, stopped at the end. Then it runs ``pytest tests/e2e -m happy`` ``--runs``
times against it and reads the test's own figure (the time from creating the org to the proven
cleanup, recorded as a JUnit property), so pytest's start-up is not counted either.

Prints a table, writes JSON to bench/results/, and exits 1 when a run fails or the slowest
run is over ``--goal-s``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from bench.common import save_results
from tests.e2e.harness.target import REPO, ManagedStack, Target, deployed

_TOOK = re.compile(r"Happy Path took ([\d.]+) s")


@dataclass
class Run:
    ok: bool
    happy_path_s: float | None  # the test's own figure: org created → cleanup proven
    pytest_wall_s: float  # the whole pytest process, start-up included


def _env(target: Target) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        IAS_E2E_BASE_URL=target.base_url,
        IAS_E2E_ADMIN_EMAIL=target.admin_email,
        IAS_E2E_ADMIN_PASSWORD=target.admin_password,
        IAS_E2E_DATABASE_URL=target.database_url,
        IAS_E2E_CLICKHOUSE_URL=target.clickhouse_url,
        IAS_E2E_MODEL=target.model,
        IAS_E2E_FAST_MODEL=target.fast_model,
        HF_HUB_OFFLINE="1",
    )
    return env


def _one(env: dict[str, str], work: Path, i: int) -> tuple[bool, float | None, float]:
    report = work / f"run-{i}.xml"
    t0 = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/e2e", "-m", "happy", "-q", "-p", "no:cacheprovider",
         f"--junitxml={report}", "-o", "junit_family=xunit1", f"--basetemp={work / f'tmp-{i}'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    wall = time.monotonic() - t0
    took = None
    if report.exists():
        for prop in ET.parse(report).iter("property"):
            if m := _TOOK.search(prop.get("value", "")):
                took = float(m.group(1))
    if p.returncode != 0:
        print(p.stdout[-4000:], p.stderr[-2000:], sep="\n", file=sys.stderr)
    return p.returncode == 0, took, wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--goal-s", type=float, default=60.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ias-bench-e2e-") as tmp:
        work = Path(tmp)
        if deployed():
            target, lease = Target.from_env(), None
        else:
            print("starting a stack of its own (ias up; not counted) …", flush=True)
            lease = ManagedStack(work / "stack").lease("bench")
            target = lease.__enter__()
        try:
            runs = []
            for i in range(args.runs):
                ok, took, wall = _one(_env(target), work, i)
                runs.append(Run(ok, took, round(wall, 1)))
                print(f"run {i + 1}: {'ok' if ok else 'FAILED'}  happy path {took} s  (pytest {wall:.1f} s)")
        finally:
            if lease is not None:
                lease.__exit__(None, None, None)
    times = [r.happy_path_s for r in runs if r.happy_path_s is not None]
    worst = max(times) if times else float("inf")
    table = "| runs | ok | fastest s | slowest s | goal s |\n|---|---|---|---|---|\n" + (
        f"| {len(runs)} | {sum(r.ok for r in runs)} | {min(times, default=float('nan')):.1f} "
        f"| {worst:.1f} | {args.goal_s:.0f} |"
    )
    print(table)
    path = save_results("e2e_happy_path", runs, table, goal_s=args.goal_s, target=target.base_url)
    print(f"results: {path}")
    return 0 if all(r.ok for r in runs) and worst <= args.goal_s else 1


if __name__ == "__main__":
    sys.exit(main())
