"""`datavern dsr`: data-subject requests against the company's own databases.

Parse, call the service, print. Requests run through the job runner
(``DATAVERN_JOBS``; inline by default, so the command returns when the request
is done). Exit codes: 0 done, 1 failed or partly done (the message says what is
wrong; ``datavern dsr resume ID`` continues), 2 invalid input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.markup import escape
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
    help="Data-subject requests: plan, access, erase, rectify, restrict; status and resume.",
    no_args_is_help=True,
)

T = TypeVar("T")

IDENTITY_HELP = (
    "An identity as NAME=VALUE: email=, phone=, fnr= (checksum checked), customer_id=, or any "
    "identity a dataset declares. Repeat for several."
)


_fail = fail_with


_run = in_transaction


_internal = internal_error


def _identities(session: Any, items: list[str]) -> tuple[Any, dict[str, list[str]]]:
    from datavern.dsr import service

    _version, register = service.applied_register(session)
    return register, service.parse_request_identities(register, items)


def _create(kind: str, items: list[str], **kwargs: Any) -> str:
    from datavern.dsr import service

    def work(session: Any) -> str:
        _register, identities = _identities(session, items)
        request = service.create_request(session, kind, identities, actor=actor(), **kwargs)
        return request.id

    return _run(work)


def _execute(request_id: str) -> Any:
    """Run the request through the job runner and show where it ended."""
    from datavern.dsr import service, tasks

    try:
        tasks.submit(request_id, actor=actor())
    except DatavernError as exc:
        _fail(exc)
    except Exception as exc:
        _internal(exc)
    view = _run(lambda s: service.get_request(s, request_id))
    return view


def _print_outcome(view: Any) -> None:
    status = view.status
    colour = {"done": "green", "failed": "red", "partial": "yellow"}.get(status, "cyan")
    console.print(
        f"request [bold]{view.id}[/] ({view.kind}{', dry run' if view.dry_run else ''}): "
        f"[{colour}]{status}[/]",
        highlight=False,
    )
    if view.error:
        err_console.print(escape(view.error), highlight=False, soft_wrap=True)
    if status in ("pending", "running"):
        console.print("queued: `datavern dsr status ID` shows its progress", highlight=False)
        return
    if status != "done":
        console.print(
            f"after fixing the cause, continue with: datavern dsr resume {view.id}",
            highlight=False,
            soft_wrap=True,  # one line, to copy and paste
        )
        raise typer.Exit(1)


def _steps_table(view: Any) -> Table:
    table = Table("#", "step", "collection", "state", "result")
    for step in view.steps:
        result = {k: v for k, v in step.result.items() if k not in ("fields", "strategies")}
        text = ", ".join(f"{k}={v}" for k, v in result.items() if v not in (None, {}, [], ""))
        if step.error:
            text = f"{text} {step.error}".strip()
        table.add_row(
            str(step.number), step.action, escape(step.collection or "-"), step.state, escape(text)
        )
    return table


# --------------------------------------------------------------------------- #
# plan
# --------------------------------------------------------------------------- #


@app.command("plan")
def plan(
    identity: list[str] = typer.Option(..., "--identity", "-i", help=IDENTITY_HELP),
    register_path: Path | None = typer.Option(
        None,
        "--register",
        help="Plan from this register file or folder instead of the applied register.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    live: bool = typer.Option(
        False,
        "--live",
        help="Also check the datasets against the live databases (table definitions only).",
    ),
) -> None:
    """Show a request's walk: collections, order, references, queries. Reads no data."""
    from datavern.dsr import service

    def work(session: Any) -> Any:
        if register_path is not None:
            from datavern.register.loader import load_register

            register = load_register(register_path).register
        else:
            _version, register = service.applied_register(session)
        identities = service.parse_request_identities(register, identity)
        problems = service.settings_problems(register)
        if live:
            problems += service.live_problems(session, register)
        return service.make_plan(register, identities.keys()), problems

    result, problems = _run(work) if register_path is None or live else _no_db(work)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        console.print(escape(result.describe()), highlight=False, soft_wrap=True)
    for problem in problems:
        err_console.print(f"[yellow]warning:[/] {escape(problem)}", soft_wrap=True)


def _no_db(work: Callable[[Any], T]) -> T:
    try:
        return work(None)
    except DatavernError as exc:
        _fail(exc)
    except Exception as exc:
        _internal(exc)


# --------------------------------------------------------------------------- #
# requests
# --------------------------------------------------------------------------- #


@app.command("access")
def access(
    identity: list[str] = typer.Option(..., "--identity", "-i", help=IDENTITY_HELP),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to write the package (default: the data folder)."
    ),
    portable: bool = typer.Option(
        False, "--portable", help="Art. 20 export: only the data the subject provided, as JSON."
    ),
    lang: str | None = typer.Option(
        None, "--lang", help="Report language, nb or en (default: every notice language)."
    ),
) -> None:
    """Collect the subject's personal data into a zip: data.json, CSV per table, the report."""
    if lang is not None and lang not in ("nb", "en"):
        _fail(DatavernError("--lang is nb or en"), 2)
    options: dict[str, Any] = {"lang": lang or ""}
    if output is not None:
        options["output"] = str(output.expanduser().resolve())
    request_id = _create("portable" if portable else "access", identity, options=options)
    view = _execute(request_id)
    export = view.summary.get("export", {})
    if view.status == "done":
        console.print(f"package written to {escape(str(export.get('path')))}", highlight=False)
        if export.get("empty"):
            console.print("no personal data was found for these identities", highlight=False)
        else:
            console.print(
                f"{export.get('rows', 0)} row(s) from {export.get('collections', 0)} collection(s)",
                highlight=False,
            )
        if export.get("report") and export.get("report") != "included":
            err_console.print(f"[yellow]note:[/] {escape(str(export['report']))}", soft_wrap=True)
    _print_outcome(view)


@app.command("erase")
def erase(
    identity: list[str] = typer.Option(..., "--identity", "-i", help=IDENTITY_HELP),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Find the rows and show what would be erased; change nothing."
    ),
) -> None:
    """Erase the subject's personal data (art. 17): mask or delete, keeping only legal holds."""
    request_id = _create("erasure", identity, dry_run=dry_run)
    view = _execute(request_id)
    console.print(_steps_table(view))
    _print_outcome(view)


@app.command("rectify")
def rectify(
    identity: list[str] = typer.Option(..., "--identity", "-i", help=IDENTITY_HELP),
    values: list[str] = typer.Option(
        ...,
        "--set",
        help="FIELD=VALUE: a field name, dataset.collection.field, a data category, or email/"
        "phone/fnr (every field of that category). Repeat for several.",
    ),
) -> None:
    """Correct the subject's data wherever it is held (art. 16); the audit log keeps both."""
    request_id = _create("rectification", identity, rectify=values)
    view = _execute(request_id)
    console.print(_steps_table(view))
    _print_outcome(view)


@app.command("restrict")
def restrict(
    identity: list[str] = typer.Option(..., "--identity", "-i", help=IDENTITY_HELP),
) -> None:
    """Restrict processing (art. 18): only storage until lifted; sets the datasets' flag columns."""
    request_id = _create("restriction", identity)
    view = _execute(request_id)
    _print_outcome(view)
    console.print(
        "processing is restricted: `datavern dsr may-process` now answers no for every "
        "purpose but storage",
        highlight=False,
    )


@app.command("lift-restriction")
def lift_restriction(
    identity: list[str] = typer.Option(..., "--identity", "-i", help=IDENTITY_HELP),
) -> None:
    """Lift a restriction of processing: clears Datavern's mark and the datasets' flag columns."""
    request_id = _create("lift_restriction", identity)
    view = _execute(request_id)
    _print_outcome(view)


@app.command("may-process")
def may_process(
    identity: list[str] = typer.Option(..., "--identity", "-i", help=IDENTITY_HELP),
    purpose: str = typer.Option(
        ..., "--purpose", "-p", help="A purpose or fideslang data use, e.g. marketing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
) -> None:
    """Answer whether the subject may be processed for PURPOSE now: exit 0 yes, 1 no."""
    from datavern.dsr import service

    def work(session: Any) -> Any:
        _register, identities = _identities(session, identity)
        return service.may_process(session, identities, purpose)

    decision = _run(work)
    if as_json:
        typer.echo(json.dumps(decision.as_json(), ensure_ascii=False))
    else:
        answer = "[green]yes[/]" if decision.allowed else "[red]no[/]"
        console.print(f"{answer}: {escape(decision.reason)}", highlight=False)
    if not decision.allowed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- #
# status, resume, run-due
# --------------------------------------------------------------------------- #


@app.command("status")
def status(
    request_id: str | None = typer.Argument(
        None, metavar="REQUEST_ID", help="A request id (or a unique prefix); none lists the newest."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    limit: int = typer.Option(20, "--limit", help="How many requests to list."),
) -> None:
    """Show a request and its steps, or list the newest requests."""
    from datavern.dsr import service

    if request_id is None:
        views = _run(lambda s: service.list_requests(s, limit))
        if as_json:
            typer.echo(json.dumps([v.as_json() for v in views], ensure_ascii=False, indent=2))
            return
        if not views:
            console.print("no requests yet")
            return
        table = Table("id", "kind", "status", "identities", "created (UTC)")
        for v in views:
            table.add_row(
                v.id,
                v.kind + (" (dry run)" if v.dry_run else ""),
                v.status,
                ", ".join(v.identity_types),
                f"{v.created_at:%Y-%m-%d %H:%M}",
            )
        console.print(table)
        return
    view = _run(lambda s: service.get_request(s, request_id))
    if as_json:
        typer.echo(json.dumps(view.as_json(), ensure_ascii=False, indent=2, default=str))
        return
    console.print(
        f"request [bold]{view.id}[/]: {view.kind}{' (dry run)' if view.dry_run else ''}, "
        f"{view.status}; identities: {', '.join(view.identity_types)}; register version "
        f"{view.register_version}",
        highlight=False,
    )
    if view.error:
        err_console.print(escape(view.error), highlight=False, soft_wrap=True)
    console.print(_steps_table(view))


@app.command("resume")
def resume(
    request_id: str = typer.Argument(..., metavar="REQUEST_ID", help="The request to continue."),
) -> None:
    """Continue a failed or interrupted request from its first step that is not done."""
    from datavern.dsr import service

    full = _run(lambda s: service.request_id_of(s, request_id))
    view = _execute(full)
    console.print(_steps_table(view))
    _print_outcome(view)


@app.command("run-due")
def run_due(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Erase held fields whose legal hold has ended (the scheduler runs this too)."""
    from datavern.dsr import service

    try:
        ensure_database()
        result = service.run_due(actor=actor())
    except DatavernError as exc:
        _fail(exc)
    except Exception as exc:
        _internal(exc)
    if as_json:
        typer.echo(json.dumps(result.as_json()))
    else:
        console.print(
            f"{result.due} held row(s) due: {result.done} erased, {result.failed} failed",
            highlight=False,
        )
        for error in result.errors:
            err_console.print(f"[red]error:[/] {escape(error)}", soft_wrap=True)
    if result.failed:
        raise typer.Exit(1)


@app.command("holds")
def holds(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List held fields waiting for their hold to end (deferred erasures)."""
    from datavern.dsr import service

    items: list[dict[str, Any]] = _run(
        lambda s: [
            {
                "collection": f"{d.dataset}.{d.collection}",
                "fields": d.fields,
                "hold": d.hold,
                "erase_on": d.due_on.isoformat(),
                "request": d.request_id,
                "error": d.error,
            }
            for d in service.pending_deferred(s)
        ]
    )
    if as_json:
        typer.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        console.print("no held data is waiting for erasure")
        return
    table = Table("erase on", "collection", "fields", "hold", "request")
    for item in items:
        table.add_row(
            item["erase_on"],
            escape(item["collection"]),
            escape(", ".join(item["fields"])),
            escape(item["hold"]),
            item["request"] or "-",
        )
    console.print(table)


if __name__ == "__main__":  # `python -m datavern.dsr.cli` (tests run it as a process)
    run_app(app)
