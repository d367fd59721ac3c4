"""`datavern requests`: the agent's queue of privacy-centre requests, from a terminal.

The same services as the admin pages and the API (queue.py, cases.py): list with
filters, show one, approve, deny with a reason, extend with a reason, assign.

**Who acts.** Like every other command (``datavern dsr``, ``datavern breach``) the
actor written to the request's history and the audit log is ``DATAVERN_ACTOR``,
else ``cli:<OS user>``. Whoever can run the command can reach the database, so
the command acts as an operator; but when ``DATAVERN_ACTOR`` names a Datavern
user account, that account's role is respected as on the admin pages: a viewer
may list and show, only a role that handles requests may decide or assign, and a
disabled account may do nothing.

A request is named by its id or by its reference (the first eight characters, as
on the pages and in the e-mails). Exit codes: 0 done, 1 the engine failed while
carrying out an approved request (``datavern requests show ID`` says why),
2 invalid input or an action the request's state or the law does not allow; on
2 nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from datavern.cli.common import (
    actor,
    console,
    err_console,
    fail_with,
    in_transaction,
)
from datavern.core.errors import DatavernError, InvalidInput, NotFound, Problem

app = typer.Typer(
    help="The privacy centre's request queue: list, show, approve, deny, extend, assign.",
    no_args_is_help=True,
)

T = TypeVar("T")
ID_HELP = "The request's id, or its reference (the first 8 characters)."
UNASSIGN = "-"


class NotAllowed(DatavernError):
    """The acting Datavern user's role does not allow the action."""

    exit_code = 2


_fail = fail_with


_run = in_transaction


def _find(session: Any, given: str) -> Any:
    """The case with this id or reference; NotFound or InvalidInput (ambiguous) otherwise."""
    from sqlalchemy import select

    from datavern.dsr import intake
    from datavern.dsr.case_models import PrivacyCase

    text = given.strip().lower()
    case = intake.find_case(session, text)
    if case is not None:
        return case
    if 4 <= len(text) < 32 and all(c in "0123456789abcdef" for c in text):
        found = list(
            session.execute(
                select(PrivacyCase).where(PrivacyCase.id.startswith(text)).limit(2)
            ).scalars()
        )
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InvalidInput(
                Problem("more than one request starts with this; give the full id", path="ID")
            )
    raise NotFound(f"no request {given.strip()[:40]!r} (see `datavern requests list`)")


def _require(session: Any, permission_name: str) -> str:
    """The actor, after checking the role of the Datavern user it names (if any)."""
    from sqlalchemy import select

    from datavern.accounts.models import User
    from datavern.accounts.rules import Permission, has_permission

    who = actor()
    user = session.execute(
        select(User).where(User.username == who.strip().lower())
    ).scalar_one_or_none()
    if user is None:
        return who  # an operator (cli:<OS user> or a name that is no account)
    permission = Permission(permission_name)
    if not user.active or not has_permission(user.role, permission):
        raise NotAllowed(
            f"the user {user.username} ({user.role}{'' if user.active else ', disabled'}) "
            f"may not do this: it needs the permission {permission.value}"
        )
    return who


# --------------------------------------------------------------------------- #
# list, show
# --------------------------------------------------------------------------- #


@app.command("list")
def list_(
    status: str | None = typer.Option(
        None,
        "--status",
        help="open, or one status: unverified, locked, verified, in_progress, "
        "forwarded, failed, done, denied.",
    ),
    kind: str | None = typer.Option(
        None,
        "--type",
        help="access, portable, rectification, erasure, restriction, objection, withdraw_consent.",
    ),
    assignee: str | None = typer.Option(
        None, "--assignee", help=f"A username, or {UNASSIGN} for requests nobody has."
    ),
    due_soon: bool = typer.Option(False, "--due-soon", help="Open and due within 7 days."),
    overdue: bool = typer.Option(False, "--overdue", help="Open and past the legal deadline."),
    limit: int = typer.Option(100, "--limit", help="At most this many (1-500)."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """The queue, soonest due first, with the counts the admin page shows."""
    from datavern.dsr import cases, queue

    if fmt not in ("table", "json"):
        _fail(InvalidInput(Problem("table or json", path="--format")))
    if due_soon and overdue:
        _fail(InvalidInput(Problem("give --due-soon or --overdue, not both", path="--due-soon")))
    filters = queue.Filters(
        kind=kind,
        status=status,
        assignee=assignee,
        due="soon" if due_soon else "overdue" if overdue else None,
        limit=limit,
    )
    problems = filters.problems()
    if problems:
        names = {"kind": "--type", "due": "--due-soon/--overdue"}
        _fail(
            InvalidInput(
                [Problem(p.message, path=names.get(p.path, f"--{p.path}")) for p in problems]
            )
        )

    def work(session: Any) -> Any:
        _require(session, "view_requests")
        page = queue.search(session, filters)
        return page.total, page.counts, [cases.as_json(session, c) for c in page.cases]

    total, counts, rows = _run(work)
    if fmt == "json":
        typer.echo(json.dumps({"total": total, "counts": counts, "requests": rows}, indent=2))
        return
    # The reference names a request for every other command (`show`, `approve` ...);
    # the full id is in --format json.
    table = Table("reference", "type", "status", "received", "due", "assignee")
    for column in table.columns[:5]:
        column.no_wrap = True
    for row in rows:
        due = row["due_on"] + (" OVERDUE" if row["overdue"] else "")
        table.add_row(
            row["reference"],
            row["kind"],
            row["status"],
            row["received_at"][:10],
            due,
            escape(row["assignee"] or "-"),
        )
    console.print(table)
    console.print(
        f"{total} request(s) match; open {counts['open']}, overdue {counts['overdue']}, "
        f"due soon {counts['due_soon']}, unassigned {counts['unassigned']}",
        highlight=False,
    )


@app.command("show")
def show(
    request_id: str = typer.Argument(..., metavar="ID", help=ID_HELP),
    reveal: bool = typer.Option(
        False,
        "--reveal",
        help="Also print the identities and the person's own words (needs handle_requests).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the request as JSON."),
) -> None:
    """One request: state, deadline, verification, decision, manual tasks, history."""
    from datavern.dsr import cases

    def work(session: Any) -> Any:
        _require(session, "handle_requests" if reveal else "view_requests")
        case = _find(session, request_id)
        data = cases.as_json(session, case, reveal=reveal)
        data["history"] = [
            {"at": e.at.isoformat(), "actor": e.actor, "event": e.event}
            for e in cases.events_of(session, case)
        ]
        if data.get("engine_request"):
            from datavern.dsr import service as engine

            run = engine.get_request(session, data["engine_request"])
            # The engine's errors name collections, fields and causes, never values.
            data["engine"] = {"status": run.status, "error": run.error}
        return data

    data = _run(work)
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    lines = [
        f"request {data['reference']} ({data['id']})",
        f"  type:          {data['kind']}",
        f"  status:        {data['status']}",
        f"  received:      {data['received_at']}",
        f"  due:           {data['due_on']}"
        + (" (extended)" if data["extended"] else "")
        + (" OVERDUE" if data["overdue"] else ""),
        f"  verified:      {data['verification_method'] or 'no'}",
        f"  identities:    {', '.join(data['identity_types']) or '-'}",
        f"  assignee:      {data['assignee'] or '-'}",
    ]
    for label, key in (
        ("controller", "controller"),
        ("locked", "locked_reason"),
        ("extension", "extension_reason"),
        ("decided by", "decided_by"),
        ("decision", "decision_reason"),
        ("engine run", "engine_request"),
    ):
        if data.get(key):
            lines.append(f"  {label + ':':14} {data[key]}")
    engine_run = data.get("engine") or {}
    if engine_run:
        lines.append(f"  engine status: {engine_run['status']}")
    if engine_run.get("error"):
        lines.append(f"  engine error:  {engine_run['error']}")
        lines.append(f"  (details and steps: datavern dsr status {data['engine_request']})")
    if reveal:
        lines.append(f"  email:         {data.get('email') or '-'}")
        for name, values in (data.get("identities") or {}).items():
            lines.append(f"  {name + ':':14} {', '.join(values)}")
    console.print(escape("\n".join(lines)), highlight=False, soft_wrap=True)
    if data["tasks"]:
        tasks = Table("#", "system", "task", "state")
        for task in data["tasks"]:
            tasks.add_row(
                str(task["id"]), escape(task["system"]), escape(task["title"]), task["state"]
            )
        console.print(tasks)
    history = Table("at", "actor", "event")
    for event in data["history"]:
        history.add_row(event["at"][:19], escape(event["actor"]), event["event"])
    console.print(history)


# --------------------------------------------------------------------------- #
# decisions
# --------------------------------------------------------------------------- #


def _decide(request_id: str, action: Callable[[Any, Any, str], Any], permission: str) -> None:
    """Run ``action(session, case, actor)`` in one transaction, then mail and run the engine."""
    from datavern.dsr import cases

    def work(session: Any) -> tuple[str, Any, str]:
        who = _require(session, permission)
        case = _find(session, request_id)
        return case.id, action(session, case, who), who

    case_id, result, who = _run(work)
    cases.deliver(result.messages)
    status = result.status
    if result.run_engine:
        try:
            status = cases.execute(case_id, actor=who)
        except DatavernError as exc:
            _fail(exc)
    reference = case_id[:8].upper()
    console.print(f"request {reference}: {status}", highlight=False)
    if status == "failed":
        err_console.print(
            f"the engine could not carry it out: `datavern requests show {reference}` says why",
            highlight=False,
        )
        raise typer.Exit(1)


@app.command("approve")
def approve(request_id: str = typer.Argument(..., metavar="ID", help=ID_HELP)) -> None:
    """Carry out a verified request (or forward it to the controller when we are processor)."""
    from datavern.dsr import cases

    _decide(request_id, lambda s, c, who: cases.approve(s, c, actor=who), "handle_requests")


@app.command("deny")
def deny(
    request_id: str = typer.Argument(..., metavar="ID", help=ID_HELP),
    reason: str = typer.Option(
        ..., "--reason", help="Why (sent to the person, with their right to complain)."
    ),
) -> None:
    """Refuse the request; the person is told the reason and their right to complain (12(4))."""
    from datavern.dsr import cases

    _decide(request_id, lambda s, c, who: cases.deny(s, c, reason, actor=who), "handle_requests")


@app.command("extend")
def extend(
    request_id: str = typer.Argument(..., metavar="ID", help=ID_HELP),
    reason: str = typer.Option(
        ..., "--reason", help="Why more time is needed (sent to the person)."
    ),
    months: int = typer.Option(2, "--months", help="Further months: 1 or 2."),
) -> None:
    """Extend the deadline by 1 or 2 months; only within the first month (art. 12(3))."""
    from datavern.dsr import cases

    if months not in (1, 2):
        _fail(InvalidInput(Problem("1 or 2", path="--months")))
    _decide(
        request_id,
        lambda s, c, who: cases.extend(s, c, reason, months=months, actor=who),
        "handle_requests",
    )


@app.command("assign")
def assign(
    request_id: str = typer.Argument(..., metavar="ID", help=ID_HELP),
    user: str = typer.Argument(
        ..., metavar="USER", help=f"A user who handles requests, or {UNASSIGN} for nobody."
    ),
) -> None:
    """Give the request to a user who handles requests (they get the deadline reminders)."""
    from datavern.dsr import cases

    def work(session: Any) -> tuple[str, str | None]:
        who = _require(session, "handle_requests")
        case = _find(session, request_id)
        cases.assign(session, case, None if user.strip() == UNASSIGN else user, actor=who)
        return case.id, case.assignee

    case_id, assignee = _run(work)
    console.print(
        f"request {case_id[:8].upper()}: assigned to {assignee or 'nobody'}", highlight=False
    )
