"""`ias`: run the whole IAS stack on one machine (embedded defaults).

ias up        start what is not running, migrate, create the first admin, deploy Serve
ias status    health of every component (exit 0 only when all are healthy)
ias logs      show or follow the logs of what `ias up` started
ias down      stop exactly what `ias up` started; data stays in IAS_HOME
ias models    the local models of the CPU engines (`ias models prepare`, `ias models list`)
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from ias_serve.errors import IASError
from ias_serve.settings import Settings
from ias_serve.stack.stack import Stack

app = typer.Typer(
    help="Run the IAS stack on this machine: embedded PostgreSQL, Valkey, NATS, chDB and Ray Serve.",
    no_args_is_help=True,
    add_completion=False,
)


class ConsoleReporter:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.n = 0

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.n += 1
        t0 = time.monotonic()
        self.console.print(f"[bold cyan][{self.n}][/] {title} …")
        try:
            yield
        except BaseException:
            self.console.print(f"    [red]✗ failed[/] after {time.monotonic() - t0:.1f}s")
            raise
        self.console.print(f"    [green]✓[/] {time.monotonic() - t0:.1f}s")

    def info(self, message: str) -> None:
        self.console.print(f"    {message}", highlight=False, markup=False)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] invalid IAS_* setting:\n{e}")
        raise typer.Exit(2) from None


def _fail(e: Exception) -> typer.Exit:
    err = Console(stderr=True, soft_wrap=True)
    err.print("[red]error:[/] ", end="")
    err.print(str(e), highlight=False, markup=False)
    return typer.Exit(1)


@app.command()
def up() -> None:
    """Start the stack (idempotent). Stores with an IAS_*_URL set are used, not started.

    Example: IAS_BOOTSTRAP_ADMIN_EMAIL=me@example.com ias up
    """
    console = Console(soft_wrap=True)
    stack = Stack(_settings(), ConsoleReporter(console))
    t0 = time.monotonic()
    try:
        res = stack.up()
    except (IASError, OSError) as e:
        raise _fail(e) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    console.print(f"\n[bold green]IAS is up[/] in {time.monotonic() - t0:.1f}s  (state: {stack.home})")
    for name, url in res.urls.items():
        console.print(f"  {name:<22} {url}", highlight=False)
    console.print(f"  {'System Admin':<22} {res.admin_email}", highlight=False)
    if res.admin_password:
        console.print(
            f"  {'password':<22} [bold]{res.admin_password}[/]  (generated; shown only this once)",
            highlight=False,
        )
    else:
        console.print(f"  {'password':<22} (unchanged; set at the first `ias up`)")
    console.print("  stop with `ias down`; health with `ias status`; logs with `ias logs`")


@app.command()
def down() -> None:
    """Stop exactly what `ias up` started (recorded PIDs). Data stays under IAS_HOME."""
    stack = Stack(_settings())
    results = stack.down()
    console = Console(soft_wrap=True)
    if not results:
        console.print("nothing recorded as running")
    for name, outcome in results:
        console.print(f"  {name:<10} {outcome}", highlight=False)


@app.command()
def status(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Health of every component; exit code 0 only when all are healthy."""
    import json

    health = Stack(_settings()).status()
    if json_out:
        typer.echo(json.dumps([h.__dict__ for h in health]))
    else:
        table = Table("component", "health", "detail")
        for h in health:
            table.add_row(h.name, "[green]ok[/]" if h.ok else "[red]DOWN[/]", h.detail)
        Console(soft_wrap=True).print(table)
    raise typer.Exit(0 if all(h.ok for h in health) else 1)


@app.command()
def logs(
    component: str = typer.Argument(None, help="postgres, valkey, nats or serve; default: all"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    lines: int = typer.Option(50, "--lines", "-n", help="Lines to show from the end."),
) -> None:
    """Show the logs of what `ias up` started.  Example: ias logs serve -f"""
    files = Stack(_settings()).log_files()
    if component:
        if component not in files:
            Console(stderr=True, soft_wrap=True).print(
                f"[red]error:[/] no log for {component!r}; have: {', '.join(files) or 'none'}"
            )
            raise typer.Exit(2)
        files = {component: files[component]}
    if not files:
        Console(stderr=True, soft_wrap=True).print("no logs yet (run `ias up`)")
        raise typer.Exit(1)
    cmd = ["tail", "-n", str(lines), *(["-F"] if follow else []), *map(str, files.values())]
    try:
        raise typer.Exit(subprocess.call(cmd))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


models_app = typer.Typer(help="Local models of the CPU engines (`ias-models://` in the serve config).")
app.add_typer(models_app, name="models")


def _local_models(settings: Settings) -> list[str]:
    from ias_serve.serve_config import gateway_args
    from ias_serve.stack.models import local_names

    return local_names(gateway_args(settings.serve_config.expanduser()).model_sources())


@models_app.command("prepare")
def models_prepare() -> None:
    """Make the local models the serve config names ready (once; `ias up` does it itself)."""
    from ias_serve.stack.models import prepare

    settings = _settings()
    console = Console(soft_wrap=True)
    try:
        names = _local_models(settings)
        done = prepare(names, settings.models_dir, lambda m: console.print(f"  {m}", highlight=False))
    except IASError as e:
        raise _fail(e) from None
    for name, path in done.items():
        console.print(f"  {name:<24} ready  {path}", highlight=False)
    if not done:
        console.print(f"  {settings.serve_config} names no ias-models:// model")


@models_app.command("list")
def models_list() -> None:
    """The local models the serve config names, and whether each is ready."""
    from ias_serve.stack.models import is_ready, model_path

    settings = _settings()
    try:
        names = _local_models(settings)
        rows = [(n, is_ready(n, settings.models_dir), model_path(n, settings.models_dir)) for n in names]
    except IASError as e:
        raise _fail(e) from None
    table = Table("model", "ready", "path")
    for name, ready, path in rows:
        table.add_row(name, "[green]yes[/]" if ready else "[yellow]no[/] (ias models prepare)", str(path))
    Console(soft_wrap=True).print(table)
    raise typer.Exit(0 if all(r for _, r, _ in rows) else 1)


if __name__ == "__main__":  # pragma: no cover
    app()
