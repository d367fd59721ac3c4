"""`datavern user ...` (being written)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Admin console users and roles.", no_args_is_help=True)
