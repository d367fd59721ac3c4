"""`datavern retention`: retention rules, legal holds, sweeps and their signed reports.

Parse, call the service, print. Exit codes: 0 done, 1 a sweep failed (the
message says why; `datavern retention run` continues it) or a report's
signature does not match, 2 invalid input.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from datavern.cli.common import (
    actor,
    console,
    ensure_database,
    err_console,
    fail_with,
    in_transaction,
    internal_error,
    run_app,
)
from datavern.core.errors import DatavernError

app = typer.Typer(
    help="Retention: rules from the register, legal holds, sweeps (plan, run) and their "
    "signed reports.",
    no_args_is_help=True,
)
holds_app = typer.Typer(
    help="Legal holds: data kept whatever retention rules or erasure requests say.",
    no_args_is_help=True,
)
app.add_typer(holds_app, name="holds")

T = TypeVar("T")


_fail = fail_with


_internal = internal_error


_run = in_transaction


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        _fail(f"{option}: write a date as YYYY-MM-DD, e.g. 2027-12-31", 2)


def _iso(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


# --------------------------------------------------------------------------- #
# rules, plan
# --------------------------------------------------------------------------- #


@app.command("rules")
def rules_command(
    register_path: Path | None = typer.Option(
        None, "--register", help="Read this register file or folder instead of the applied one."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the register's retention rules and the built-in legal rules they may name."""
    from datavern.retention import service

    def work(session: Any) -> list[dict[str, Any]]:
        if register_path is not None:
            from datavern.register.loader import load_register

            register = load_register(register_path).register
        else:
            _version, register = service.applied_register(session)
        return [e.as_json() for e in service.resolve_rules(register)]

    if register_path is not None:
        try:
            entries = work(None)
        except DatavernError as exc:
            _fail(exc)
    else:
        entries = _run(work)
    builtins = service.builtin_rules()
    if as_json:
        typer.echo(
            json.dumps({"rules": entries, "builtin": builtins}, ensure_ascii=False, indent=2)
        )
        return
    if entries:
        table = Table("rule", "collection", "keeps", "then", "legal basis")
        for entry in entries:
            action = entry["action"]
            if action == "anonymise":
                action += f" ({', '.join(entry['anonymise_fields'])})"
            table.add_row(
                escape(entry["key"]),
                escape(entry["collection"]),
                escape(entry["describe"]),
                escape(action),
                escape(entry["legal_basis"] or "-"),
            )
        console.print(table)
    else:
        console.print("the register has no retention_rules (see docs/retention.md)")
    table = Table("built-in rule", "period", "counts from", "law", title="Built-in legal rules")
    for item in builtins:
        table.add_row(
            item["rule"],
            item["period"],
            item["counts_from"].replace("_", " "),
            escape(item["legal_source"]),
        )
    console.print(table)


def _held(line: Any) -> str:
    text = f"{line.held:,}".replace(",", " ")
    return text + (f" (holds {', '.join(map(str, line.holds))})" if line.held else "")


@app.command("plan")
def plan_command(
    rule: list[str] = typer.Option([], "--rule", "-r", help="Only this rule (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Dry run: per rule the rows due today, the oldest, and those legal holds keep."""
    from datavern.retention import service

    lines = _run(lambda s: service.plan(s, only=rule))
    if as_json:
        typer.echo(json.dumps([line.as_json() for line in lines], ensure_ascii=False, indent=2))
    else:
        table = Table("rule", "collection", "action", "cutoff", "due", "held", "oldest due")
        for line in lines:
            table.add_row(
                escape(line.rule),
                escape(line.collection),
                line.action,
                line.cutoff.isoformat(),
                f"{line.due:,}".replace(",", " "),
                f"{line.held:,}".replace(",", " ")
                + (f" (holds {line.holds})" if line.held else ""),
                _iso(line.oldest),
            )
        console.print(table)
        console.print(
            "cutoff: the latest trigger date swept today; nothing was changed (dry run)",
            highlight=False,
        )
    problems = [p for line in lines for p in line.problems]
    for problem in problems:
        err_console.print(f"[red]error:[/] {escape(problem)}", soft_wrap=True)
    if problems:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- #
# run
# --------------------------------------------------------------------------- #


def _print_run(view: Any) -> None:
    colour = {"done": "green", "failed": "red"}.get(view.state, "cyan")
    console.print(
        f"sweep [bold]{view.id}[/]: [{colour}]{view.state}[/]"
        + (f" (continued {view.resumed} time(s))" if view.resumed else ""),
        highlight=False,
    )
    table = Table("rule", "action", "cutoff", "due", "deleted", "anonymised", "aggregated", "held")
    for item in view.rules:
        table.add_row(
            escape(item["rule"]),
            item["action"],
            item["cutoff"],
            str(item["due_at_start"]),
            str(item["deleted"]),
            str(item["anonymised"]),
            str(item["aggregated"]),
            str(item["held"]),
        )
    console.print(table)
    if view.error:
        err_console.print(escape(view.error), soft_wrap=True)


@app.command("run")
def run_command(
    rule: list[str] = typer.Option([], "--rule", "-r", help="Only this rule (repeatable)."),
    batch_size: int = typer.Option(
        10_000, "--batch-size", "-b", help="Rows per batch: each batch is one short transaction."
    ),
    parallel: int | None = typer.Option(
        None,
        "--parallel",
        "-p",
        help=(
            "Connections sweeping one table at once on PostgreSQL, each locking one batch at "
            "a time (1 to 8; default: DATAVERN_RETENTION_PARALLEL, else 2 or the number of "
            "cores if fewer)."
        ),
    ),
    fresh: bool = typer.Option(
        False, "--fresh", help="Abandon an unfinished sweep and start anew (normally it continues)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the finished run as JSON."),
) -> None:
    """Sweep: delete, anonymise or aggregate what is due, batch by batch; legal holds win.

    An unfinished sweep (killed or failed) is continued where it stopped.
    """
    from datavern.retention import service

    try:
        ensure_database()
    except DatavernError as exc:
        _fail(exc)
    show = not as_json
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not show,
    )
    tasks: dict[str, Any] = {}

    def step(rule_key: str, done: int, total: int) -> None:
        task = tasks.get(rule_key)
        if task is None:
            task = tasks[rule_key] = progress.add_task(escape(rule_key), total=total)
        progress.update(task, completed=done, total=total)

    def started(result: Any) -> None:
        if show and result.resumed:
            err_console.print(
                f"continuing unfinished sweep {result.run_id}", highlight=False, soft_wrap=True
            )

    try:
        with progress:
            view = service.run(
                actor=actor(),
                only=rule,
                batch_size=batch_size,
                fresh=fresh,
                progress=step,
                on_start=started,
                parallel=parallel,
            )
    except DatavernError as exc:
        _fail(exc)
    except Exception as exc:
        _internal(exc)
    if as_json:
        typer.echo(json.dumps(view.as_json(), ensure_ascii=False, indent=2, default=str))
    else:
        _print_run(view)
    if view.state != "done":
        if not as_json:
            err_console.print(
                "after fixing the cause, continue with: datavern retention run", highlight=False
            )
        raise typer.Exit(1)


# --------------------------------------------------------------------------- #
# reports
# --------------------------------------------------------------------------- #


@app.command("reports")
def reports_command(
    limit: int = typer.Option(20, "--limit", help="How many runs to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the newest sweeps with their totals."""
    from datavern.retention import service

    views = _run(lambda s: service.list_runs(s, limit))
    if as_json:
        typer.echo(
            json.dumps([v.as_json() for v in views], ensure_ascii=False, indent=2, default=str)
        )
        return
    if not views:
        console.print("no sweeps yet")
        return
    table = Table("id", "state", "started (UTC)", "rules", "deleted", "anonymised", "held")
    for v in views:
        table.add_row(
            v.id[:12],  # enough to name it: `report` takes the start of an id
            v.state,
            f"{v.started_at:%Y-%m-%d %H:%M}",
            str(len(v.rules)),
            str(sum(r["deleted"] + r["aggregated"] for r in v.rules)),
            str(sum(r["anonymised"] for r in v.rules)),
            str(sum(r["held"] for r in v.rules)),
        )
    console.print(table)


@app.command("report")
def report_command(
    run_id: str = typer.Argument(..., metavar="RUN_ID", help="A sweep's id (or its start)."),
    verify: bool = typer.Option(
        False, "--verify", help="Check the report's signature: exit 1 when it does not match."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the signed report as JSON."),
) -> None:
    """Show a sweep's signed report (rows per rule, held rows, duration)."""
    from datavern.retention import service

    view, valid = _run(lambda s: service.verify_run(s, run_id))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "report": view.report,
                    "signature": view.signature,
                    "signature_valid": valid if verify else None,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        if view.report is None:
            console.print(f"sweep {view.id} is {view.state}: it has no report yet")
        else:
            _print_run(view)
            report = view.report
            console.print(
                f"register version {report['register_version']}, day {report['today']}, "
                f"{report['duration_seconds']} s, batch size {report['batch_size']}",
                highlight=False,
            )
            console.print(f"signature (HMAC-SHA256): {view.signature}", highlight=False)
    if verify:
        if valid:
            if not as_json:
                console.print("[green]signature valid[/]: the report is as it was signed")
        else:
            err_console.print(
                "[red]signature does not match[/]: the report was changed after it was signed, "
                "or it was signed with another secret key",
                soft_wrap=True,
            )
            raise typer.Exit(1)


# --------------------------------------------------------------------------- #
# holds
# --------------------------------------------------------------------------- #


@holds_app.command("add")
def holds_add(
    scope: str = typer.Option(
        ...,
        "--scope",
        help="subject (one person's data), records (rows matching --where) or collection.",
    ),
    reason: str = typer.Option(
        "", "--reason", help="Why the data must be kept (required; shown to privacy officers)."
    ),
    kind: str = typer.Option(
        "other",
        "--kind",
        help="litigation, authority_order, tax_authority_order, investigation or other.",
    ),
    authority: str | None = typer.Option(
        None, "--authority", help="Who ordered it, e.g. Skatteetaten or Oslo tingrett."
    ),
    reference: str | None = typer.Option(None, "--reference", help="Case or letter reference."),
    collection: str | None = typer.Option(
        None, "--collection", "-c", help="dataset.collection (records and collection holds)."
    ),
    where: list[str] = typer.Option(
        [],
        "--where",
        "-w",
        help="A condition on the collection's rows: FIELD=VALUE, FIELD<VALUE, 'FIELD in (A, B)', "
        "'FIELD is null'. Repeat: all must hold.",
    ),
    identity: str | None = typer.Option(
        None, "--identity", "-i", help="The person (subject holds), as NAME=VALUE."
    ),
    starts: str | None = typer.Option(None, "--from", help="First day (YYYY-MM-DD; default now)."),
    until: str | None = typer.Option(
        None, "--until", help="Last day held (YYYY-MM-DD); without it, until ended."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the hold as JSON."),
) -> None:
    """Add a legal hold: the data it covers is neither swept nor erased while it lasts."""
    from datavern.retention import service

    start_day = _date(starts, "--from")
    until_day = _date(until, "--until")
    view = _run(
        lambda s: service.add_hold(
            s,
            scope=scope,
            reason=reason,
            kind=kind,
            authority=authority,
            reference=reference,
            collection=collection,
            conditions=where,
            identity=identity,
            starts=start_day,
            until=until_day,
            actor=actor(),
        )
    )
    if as_json:
        typer.echo(json.dumps(view.as_json(), ensure_ascii=False, indent=2))
        return
    ends = f"until {_iso(view.ends_at)}" if view.ends_at else "until ended"
    console.print(
        f"legal hold {view.id} added ({view.scope}, {view.kind}), {ends}", highlight=False
    )


@holds_app.command("list")
def holds_list(
    show_all: bool = typer.Option(False, "--all", help="Ended holds too."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List legal holds (active ones unless --all)."""
    from datavern.retention import service

    views = _run(lambda s: service.list_holds(s, active_only=not show_all))
    if as_json:
        typer.echo(json.dumps([v.as_json() for v in views], ensure_ascii=False, indent=2))
        return
    if not views:
        console.print("no legal holds" if show_all else "no active legal holds")
        return
    table = Table("id", "scope", "kind", "covers", "reason", "from", "until", "active")
    for v in views:
        if v.scope == "subject":
            covers = f"person ({v.identity_type})" + (f" in {v.collection}" if v.collection else "")
        elif v.scope == "records":
            covers = f"{v.collection} where {v.conditions_text()}"
        else:
            covers = v.collection or "-"
        table.add_row(
            str(v.id),
            v.scope,
            v.kind,
            escape(covers),
            escape(v.reason),
            f"{v.starts_at:%Y-%m-%d %H:%M}",
            f"{v.ends_at:%Y-%m-%d %H:%M}" if v.ends_at else "-",
            "yes" if v.active else "no",
        )
    console.print(table)


@holds_app.command("end")
def holds_end(
    hold_id: int = typer.Argument(..., metavar="HOLD_ID", help="The hold to end."),
    reason: str | None = typer.Option(None, "--reason", help="Why it ends (kept on the hold)."),
) -> None:
    """End a legal hold now: what it kept becomes due again at the next sweep."""
    from datavern.retention import service

    view = _run(lambda s: service.end_hold(s, hold_id, actor=actor(), reason=reason))
    console.print(f"legal hold {view.id} ended", highlight=False)


if __name__ == "__main__":  # `python -m datavern.retention.cli` (tests run it as a process)
    run_app(app)
