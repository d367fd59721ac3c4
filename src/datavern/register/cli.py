"""`datavern init`, `datavern check`, `datavern register ...` (being written)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from datavern.register.lint import FailOn, OutputFormat

app = typer.Typer(help="Apply and inspect register versions.", no_args_is_help=True)


def init() -> None:
    """Scaffold a register for a new company."""
    raise typer.Exit(1)


def check(
    path: Path | None = typer.Argument(
        None,
        help="Register file or folder. Default: DATAVERN_REGISTER_PATH, else ./register.yaml, "
        "else the ./register folder.",
        show_default=False,
    ),
    fail_on: FailOn = typer.Option(
        FailOn.error,
        "--fail-on",
        help="Exit 1 when a finding has this severity or a higher one; never: only invalid "
        "input fails.",
        case_sensitive=False,
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.text,
        "--format",
        help="text for people, json for scripts, sarif (2.1.0) for code-scanning tools.",
        case_sensitive=False,
    ),
) -> None:
    """Validate and lint a register against GDPR and Norwegian law (a CI gate).

    Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it,
    2 invalid input (every problem is listed with file:line:column). The rules
    are described in docs/lint-rules.md.
    """
    from datavern.core.clock import OSLO, now
    from datavern.core.config import get_settings
    from datavern.core.errors import InvalidInput
    from datavern.register.lint import (
        CheckReport,
        check_register,
        default_register_path,
        dumps,
        entries_from_problems,
        print_text,
        to_json,
        to_sarif,
    )

    try:
        target = path if path is not None else default_register_path(get_settings().register_path)
    except InvalidInput as exc:
        report = CheckReport("", False, entries_from_problems(exc.problems))
    else:
        report = check_register(target, today=now().astimezone(OSLO).date())
    if output_format is OutputFormat.json:
        typer.echo(dumps(to_json(report, fail_on)))
    elif output_format is OutputFormat.sarif:
        typer.echo(dumps(to_sarif(report)))
    else:
        print_text(report, Console(highlight=False), Console(stderr=True, highlight=False))
    raise typer.Exit(report.exit_code(fail_on))
