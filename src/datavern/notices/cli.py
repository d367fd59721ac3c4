"""`datavern notice ...` (being written)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Render and compare privacy notices.", no_args_is_help=True)
