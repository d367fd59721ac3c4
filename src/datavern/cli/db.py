"""`datavern db`: Datavern's own database."""

from __future__ import annotations

import typer

from datavern.cli.common import console, ensure_database
from datavern.core.config import get_settings

app = typer.Typer(
    help="Datavern's own database (SQLite by default, PostgreSQL in production).",
    no_args_is_help=True,
)


@app.command("upgrade")
def upgrade() -> None:
    """Create or migrate Datavern's tables to the newest schema (safe to run again)."""
    ensure_database()
    url = get_settings().effective_database_url
    console.print(f"database up to date ({url.split('://', 1)[0]})")
