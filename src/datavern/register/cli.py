"""`datavern init`, `datavern check`, `datavern register ...` (being written)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Apply and inspect register versions.", no_args_is_help=True)


def init() -> None:
    """Scaffold a register for a new company."""
    raise typer.Exit(1)


def check() -> None:
    """Validate and lint a register."""
    raise typer.Exit(1)
