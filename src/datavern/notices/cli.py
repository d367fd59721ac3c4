"""`datavern notice ...`: render the privacy notice, list its versions, compare two."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import click
import typer

from datavern.notices.rules import Change

app = typer.Typer(help="Render and compare privacy notices.", no_args_is_help=True)


class NoticeLang(StrEnum):
    nb = "nb"
    en = "en"


class NoticeFormat(StrEnum):
    html = "html"
    md = "md"
    pdf = "pdf"


def _error(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _short(value: Any, limit: int = 70) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
        text = " / ".join(f"{k}: {v}" if k != "_" else v for k, v in value.items())
    elif isinstance(value, str):
        text = value
    elif isinstance(value, dict):
        # Only what is set: `period=P2Y trigger=case_closed action=delete`.
        text = " ".join(
            f"{k}={_short(v, limit)}" for k, v in value.items() if v not in (None, False, [], {})
        )
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def change_lines(changes: list[Change]) -> list[str]:
    """One line per change, MATERIAL or editorial with the reason, then the values."""
    lines = []
    for c in changes:
        mark = "MATERIAL " if c.material else "editorial"
        lines.append(f"{mark}  {c.kind:<7}  {c.path}: {c.reason}")
        if c.kind == "changed":
            lines.append(f"{'':20}{_short(c.before)}  ->  {_short(c.after)}")
        elif c.kind == "added" and not isinstance(c.after, dict | list):
            lines.append(f"{'':20}+ {_short(c.after)}")
        elif c.kind == "removed" and not isinstance(c.before, dict | list):
            lines.append(f"{'':20}- {_short(c.before)}")
    return lines


def summary(changes: list[Change]) -> str:
    material = sum(1 for c in changes if c.material)
    return f"{material} material, {len(changes) - material} editorial"


@app.command("render")
def render_command(
    lang: NoticeLang = typer.Option(NoticeLang.nb, "--lang", help="Language: nb or en."),
    fmt: NoticeFormat = typer.Option(
        NoticeFormat.html, "--format", help="html (a full page), md or pdf."
    ),
    version: int | None = typer.Option(
        None, "--version", help="Notice version (= register version). Default: the newest."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of standard output."
    ),
) -> None:
    """Render the privacy notice from an applied register version.

    One section per GDPR art. 13/14 item, in bokmål or English. Exit 2 when the
    version does not exist, no register is applied, or the register has no texts
    in the language.
    """
    from datavern.cli.common import ensure_database
    from datavern.core.db import session_scope
    from datavern.core.errors import DatavernError
    from datavern.notices.service import render_notice

    if fmt is NoticeFormat.pdf and output is None and sys.stdout.isatty():
        _error("a PDF is binary: give --output FILE or redirect standard output", 2)
    ensure_database()
    try:
        with session_scope() as session:
            rendered = render_notice(session, version, lang.value, fmt.value)
    except DatavernError as exc:
        _error(str(exc), exc.exit_code)
        return
    data = rendered.content
    if output is not None:
        try:
            if isinstance(data, bytes):
                output.write_bytes(data)
            else:
                output.write_text(data, encoding="utf-8")
        except OSError as exc:
            _error(f"cannot write {output}: {exc.strerror or type(exc).__name__}", 2)
        typer.echo(
            f"wrote notice version {rendered.version} ({lang.value}, {fmt.value}) to {output}",
            err=True,
        )
        return
    click.echo(data, nl=False)


@app.command("versions")
def versions_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the notice versions (one per applied register version)."""
    from datavern.cli.common import ensure_database
    from datavern.core.db import session_scope
    from datavern.notices.service import notice_versions

    ensure_database()
    with session_scope() as session:
        versions = notice_versions(session)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "version": v.number,
                        "applied_at": v.applied_at.isoformat(),
                        "applied_by": v.applied_by,
                        "content_hash": v.content_hash,
                        "message": v.message,
                        "material_changes": v.material,
                        "editorial_changes": v.editorial,
                    }
                    for v in versions
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not versions:
        typer.echo("no notice versions yet: apply a register with `datavern register apply`")
        return
    for v in versions:
        changes = (
            "first version" if v.number == 1 else f"{v.material} material, {v.editorial} editorial"
        )
        message = f"  {v.message}" if v.message else ""
        typer.echo(
            f"{v.number:>4}  {v.applied_at:%Y-%m-%d %H:%M} UTC  {v.content_hash[:12]}  "
            f"{v.applied_by}  ({changes}){message}"
        )


@app.command("diff")
def diff_command(
    a: int = typer.Argument(..., metavar="A", help="The older notice version."),
    b: int = typer.Argument(..., metavar="B", help="The newer notice version."),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """List the changes between two notice versions, each marked MATERIAL or editorial.

    Material changes (new purpose, recipient, transfer, data category, longer
    retention, ...) must be told to the people concerned before they take effect.
    """
    from datavern.cli.common import ensure_database
    from datavern.core.db import session_scope
    from datavern.core.errors import DatavernError
    from datavern.notices.service import diff_versions

    ensure_database()
    try:
        with session_scope() as session:
            changes = diff_versions(session, a, b)
    except DatavernError as exc:
        _error(str(exc), exc.exit_code)
        return
    material = sum(1 for c in changes if c.material)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "from": a,
                    "to": b,
                    "material": material,
                    "editorial": len(changes) - material,
                    "changes": [c.to_dict() for c in changes],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    typer.echo(f"notice version {a} -> {b}")
    for line in change_lines(changes):
        typer.echo(line)
    if not changes:
        typer.echo("no changes")
    typer.echo(summary(changes))
