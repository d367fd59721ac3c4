"""What every command shares: error reporting without tracebacks, the actor, the database."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from datavern.core.config import get_settings
from datavern.core.errors import DatavernError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")

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


def fail_with(error: DatavernError | str, code: int | None = None) -> NoReturn:
    """Print a user-facing error and exit with ``code``, else the error's exit code (2 for
    invalid input), else 1. Escaped: messages quote names and patterns such as
    ``[a-z0-9_-]`` that rich would otherwise take for markup."""
    err_console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
    raise typer.Exit(code if code is not None else getattr(error, "exit_code", 1))


def internal_error(exc: Exception) -> NoReturn:
    """An unexpected error: only its type is printed (its text may quote a value read
    from a database); DATAVERN_DEBUG=1 raises it with its traceback."""
    if os.environ.get("DATAVERN_DEBUG"):
        raise exc
    fail_with(
        f"internal error ({type(exc).__name__}); set DATAVERN_DEBUG=1 to see the traceback", 1
    )


def in_transaction(work: Callable[[Session], T]) -> T:
    """``work(session)`` in one transaction of Datavern's database (migrated first): on
    an error nothing is written and the command ends without a traceback."""
    from datavern.core.db import session_scope

    try:
        ensure_database()
        with session_scope() as session:
            return work(session)
    except DatavernError as exc:
        fail_with(exc)
    except Exception as exc:
        internal_error(exc)
