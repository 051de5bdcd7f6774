"""`ias up`'s web portal step: build ``portal/`` into ``portal/dist`` when it is missing or
older than its sources (``npm ci`` when ``node_modules`` is missing or older than the lockfile,
then ``npm run build``). The management app serves the build at ``/``."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from ias_serve.errors import ConfigurationError

SOURCES = (
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
)


def _files(portal: Path) -> Iterator[Path]:
    for name in SOURCES:
        p = portal / name
        if p.is_dir():
            yield from (f for f in p.rglob("*") if f.is_file())
        elif p.is_file():
            yield p


def needs_build(portal: Path) -> bool:
    """The build is missing, or a source file is newer than it."""
    built = portal / "dist" / "index.html"
    if not built.is_file():
        return True
    stamp = built.stat().st_mtime
    return any(f.stat().st_mtime > stamp for f in _files(portal))


def build(portal: Path, info: Callable[[str], None], *, timeout_s: float = 900) -> str:
    """Build when needed; returns what happened ("up to date" / "built"). Raises
    :class:`ConfigurationError` with npm's output when npm is missing or fails."""
    if not (portal / "package.json").is_file():
        return "no portal sources here"
    if not needs_build(portal):
        return "up to date"
    npm = shutil.which("npm")
    if npm is None:
        raise ConfigurationError(
            "building the web portal needs Node.js and npm on PATH (or set IAS_PORTAL_DIST)"
        )
    modules, lock = portal / "node_modules", portal / "package-lock.json"
    steps = (
        [["ci", "--no-audit", "--no-fund"]]
        if not modules.is_dir() or (lock.is_file() and lock.stat().st_mtime > modules.stat().st_mtime)
        else []
    )
    for args in [*steps, ["run", "build"]]:
        info(f"portal: npm {' '.join(args)}")
        done = subprocess.run([npm, *args], cwd=portal, capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr)[-3000:]
            raise ConfigurationError(
                f"`npm {' '.join(args)}` in {portal} failed ({done.returncode}):\n{tail}"
            )
    return "built"
