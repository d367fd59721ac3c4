"""What every command shares: error reporting without tracebacks, the actor, the database."""

from __future__ import annotations

import getpass
import sys
from typing import Any

import typer
from rich.console import Console

from datavern.core.config import get_settings
from datavern.core.errors import DatavernError

console = Console()
err_console = Console(stderr=True)


def actor() -> str:
    """Who is acting, for the audit log: DATAVERN_ACTOR, else the OS user."""
    settings = get_settings()
    if settings.actor:
        return settings.actor
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli:unknown"


def fail(error: DatavernError) -> None:
    """Print a user-facing error and exit with its code (2 for invalid input)."""
    err_console.print(f"[bold red]error:[/] {error}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(error.exit_code)


def run_app(app: Any) -> None:
    try:
        app()
    except DatavernError as exc:
        err_console.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(exc.exit_code)


def ensure_database() -> None:
    """Create or upgrade Datavern's own tables (idempotent)."""
    from datavern.core.db import migrate

    migrate()
