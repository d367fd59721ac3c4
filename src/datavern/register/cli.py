"""`datavern init`, `datavern check`, `datavern register ...` (being written)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from datavern.register.lint import FailOn, OutputFormat

app = typer.Typer(help="Apply and inspect register versions.", no_args_is_help=True)


def init(
    folder: Path = typer.Argument(
        Path("register"), help="Folder to write the register into (created if missing)."
    ),
    name: str | None = typer.Option(
        None, "--name", help="The company's legal name, as in Enhetsregisteret."
    ),
    org_nr: str | None = typer.Option(
        None, "--org-nr", help="Organisation number (9 digits, checksum validated)."
    ),
    email: str | None = typer.Option(
        None, "--email", help="Contact e-mail for privacy questions (shown in the notice)."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Never prompt: a missing --name/--org-nr/--email is an error."
    ),
    force: bool = typer.Option(
        False, "--force", help="Overwrite the scaffold's files if a register is already there."
    ),
) -> None:
    """Scaffold a valid, commented register for a new company.

    Writes register.yaml (the organisation) including systems.yaml,
    processors.yaml, consent.yaml and datasets/customers.yaml. Missing values are
    asked for on a terminal; with --yes or without a terminal they are an error.
    Exit 2: an invalid value, or a register already there (without --force).
    Placeholders to replace are marked TODO; docs/register.md explains each field.
    """
    import sys

    from datavern.core.clock import OSLO, now
    from datavern.core.errors import InvalidInput
    from datavern.register import scaffold

    def refuse(problems: list[str]) -> None:
        if len(problems) == 1:
            typer.echo(f"error: {problems[0]}", err=True)
        else:
            typer.echo("error: invalid input; nothing was written", err=True)
            for line in problems:
                typer.echo(f"  {line}", err=True)
        raise typer.Exit(2)

    present = scaffold.existing_files(folder)
    if present and not force:
        names = ", ".join(p.relative_to(folder).as_posix() for p in present)
        refuse([f"a register already exists in {folder} ({names}); use --force to overwrite"])
    answers = {"name": name, "org-nr": org_nr, "email": email}
    missing = [option for option, value in answers.items() if value is None]
    if missing and (yes or not sys.stdin.isatty()):
        options = ", ".join(f"--{option}" for option in missing)
        refuse([f"missing {options} (give them as options; there is no terminal to ask)"])
    questions = {
        "name": "Company's legal name",
        "org-nr": "Organisation number",
        "email": "Contact e-mail for privacy questions",
    }
    for option in missing:

        def check(value: str, option: str = option) -> str:
            try:
                return scaffold.CHECKS[option](value)
            except ValueError as exc:
                raise typer.BadParameter(str(exc)) from None

        answers[option] = typer.prompt(questions[option], value_proc=check)
    try:
        facts = scaffold.validate_facts(
            answers["name"] or "", answers["org-nr"] or "", answers["email"] or ""
        )
        written = scaffold.scaffold(folder, facts, today=now().astimezone(OSLO).date(), force=force)
    except InvalidInput as exc:
        refuse([str(p) for p in exc.problems])
        return
    typer.echo(f"wrote a register for {facts.name} in {folder}:")
    for path in written:
        typer.echo(f"  {path.relative_to(folder).as_posix()}")
    typer.echo(
        "next: replace the TODO placeholders, then run "
        f"`datavern check {folder}` and `datavern register apply {folder}`; "
        "docs/register.md explains every field"
    )


def check(
    path: Path | None = typer.Argument(
        None,
        metavar="PATH",
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
    live: bool = typer.Option(
        False,
        "--live",
        help="Also compare the datasets with the live databases of their stored connections "
        "(needs DATAVERN_CONNECTION_KEY).",
    ),
) -> None:
    """Validate and lint a register against GDPR and Norwegian law (a CI gate).

    Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it,
    2 invalid input (every problem is listed with file:line:column), or with --live a
    database that could not be read. The rules are described in docs/lint-rules.md.
    """
    from datavern.core.clock import OSLO, now
    from datavern.core.config import get_settings
    from datavern.core.errors import InvalidInput
    from datavern.register.lint import (
        CheckReport,
        LiveSource,
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
        report = check_register(
            target, today=now().astimezone(OSLO).date(), live=LiveSource() if live else None
        )
    if output_format is OutputFormat.json:
        typer.echo(dumps(to_json(report, fail_on)))
    elif output_format is OutputFormat.sarif:
        typer.echo(dumps(to_sarif(report)))
    else:
        print_text(report, Console(highlight=False), Console(stderr=True, highlight=False))
    raise typer.Exit(report.exit_code(fail_on))


# --- `datavern register apply | versions | show` ------------------------------------


def _say_error(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command("apply")
def apply(
    path: Path | None = typer.Argument(
        None,
        metavar="PATH",
        help="Register file or folder. Default: DATAVERN_REGISTER_PATH, else ./register.yaml, "
        "else the ./register folder.",
        show_default=False,
    ),
    message: str | None = typer.Option(
        None, "--message", "-m", help="Why this version is applied (kept with the version)."
    ),
    allow_findings: bool = typer.Option(
        False,
        "--allow-findings",
        help="Apply even when `datavern check` reports errors (recorded in the audit log).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Store the register as a new immutable version (and notice version).

    The version keeps the content hash, who applied it and when, the YAML files
    and the changes from the previous version, each marked material or editorial;
    it is written with its audit entry in one transaction. An unchanged register
    makes no new version. Exit 2: invalid register, nothing applied. Exit 1: lint
    errors (see `datavern check`) and no --allow-findings, nothing applied.
    """
    import json

    from sqlalchemy.exc import IntegrityError

    from datavern.cli.common import actor, ensure_database
    from datavern.core.clock import OSLO, now
    from datavern.core.config import get_settings
    from datavern.core.db import session_scope
    from datavern.core.errors import InvalidInput
    from datavern.notices.cli import change_lines, summary
    from datavern.register.lint import default_register_path
    from datavern.register.loader import load_register
    from datavern.register.service import apply_register, blocking_findings, lint_problems

    try:
        target = path if path is not None else default_register_path(get_settings().register_path)
        loaded = load_register(target)
    except InvalidInput as exc:
        problems = "\n".join(f"  {p}" for p in exc.problems)
        _say_error(f"the register is invalid; nothing was applied\n{problems}", 2)
        return
    findings = blocking_findings(loaded, now().astimezone(OSLO).date())
    if findings and not allow_findings:
        lines = "\n".join(f"  {p}" for p in lint_problems(loaded, findings))
        _say_error(
            f"the register has {len(findings)} lint error(s); nothing was applied. Fix them "
            f"(`datavern check {target}`) or apply anyway with --allow-findings\n{lines}",
            1,
        )
    ensure_database()
    try:
        with session_scope() as session:
            result = apply_register(
                session,
                loaded,
                actor(),
                message,
                accepted_findings=len(findings),
            )
            number, content_hash = result.version.number, result.version.content_hash
    except IntegrityError:
        _say_error("another apply stored a version at the same time; run apply again", 1)
        return
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "version": number,
                    "created": result.created,
                    "content_hash": content_hash,
                    "material": result.material,
                    "editorial": result.editorial,
                    "changes": [c.to_dict() for c in result.changes],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not result.created:
        typer.echo(
            f"unchanged: the register is identical to version {number} "
            f"(sha256 {content_hash[:12]}); no new version was stored"
        )
        return
    typer.echo(f"applied register version {number} (sha256 {content_hash[:12]})")
    if findings:
        typer.echo(f"applied with {len(findings)} lint error(s) (--allow-findings)")
    if number == 1:
        typer.echo("first version: notice version 1 is ready (`datavern notice render`)")
        return
    for line in change_lines(result.changes):
        typer.echo(line)
    typer.echo(f"changes from version {number - 1}: {summary(result.changes)}")


@app.command("versions")
def versions(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the applied register versions, oldest first."""
    from datavern.notices.cli import versions_command

    versions_command(as_json=as_json)


@app.command("show")
def show(
    number: int | None = typer.Argument(
        None, metavar="NUMBER", help="Version number. Default: the newest."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the whole version: metadata, register, files, changes."
    ),
) -> None:
    """Show one applied register version: who, when, hash, files and its changes."""
    import json

    from datavern.cli.common import ensure_database
    from datavern.core.db import session_scope
    from datavern.core.errors import DatavernError
    from datavern.notices.cli import change_lines, summary
    from datavern.register.service import changes_of, current_register, get_version

    ensure_database()
    try:
        with session_scope() as session:
            version = (
                get_version(session, number) if number is not None else current_register(session)[0]
            )
    except DatavernError as exc:
        _say_error(str(exc), exc.exit_code)
        return
    changes = changes_of(version)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "version": version.number,
                    "content_hash": version.content_hash,
                    "applied_by": version.applied_by,
                    "applied_at": version.applied_at.isoformat(),
                    "message": version.message,
                    "files": version.source,
                    "register": version.content,
                    "changes": version.diff,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    typer.echo(f"register version {version.number}")
    typer.echo(f"  content hash  {version.content_hash}")
    typer.echo(
        f"  applied       {version.applied_at:%Y-%m-%d %H:%M:%S} UTC by {version.applied_by}"
    )
    if version.message:
        typer.echo(f"  message       {version.message}")
    typer.echo(f"  files         {', '.join(sorted(version.source))}")
    if version.number == 1:
        typer.echo("  first version")
        return
    typer.echo(f"  changes from version {version.number - 1}: {summary(changes)}")
    for line in change_lines(changes):
        typer.echo(f"  {line}")
