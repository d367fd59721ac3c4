"""`datavern breach`: the breach register, the 72-hour clock, Datatilsynet drafts, notices.

Parse, call the service, print. Exit codes: 0 done; 1 an error while working
(e.g. a database or SMTP server that cannot be reached); 2 invalid input (an
awareness moment in the future, a missing required field, an unknown risk level,
a selection that does not parse): nothing is stored then.

Moments without an offset are Norwegian time (Europe/Oslo).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from datavern.cli.common import actor, console, ensure_database, err_console
from datavern.core.db import session_scope
from datavern.core.errors import DatavernError, InvalidInput, Location, Problem

app = typer.Typer(
    help="Breaches (art. 33-34): register, 72-hour countdown, risk, Datatilsynet draft, "
    "notices to the people affected, reminders.",
    no_args_is_help=True,
)

T = TypeVar("T")
MAX_FILE = 1_000_000

LABELS = {
    "nb": {
        "breach": "Avvik",
        "aware": "Klar over bruddet",
        "deadline": "Frist (72 timer)",
        "clock": "Status",
        "risk": "Risiko",
        "version": "Versjon",
        "told": "Varslet",
        "exception": "Unntak art. 34 nr. 3",
        "next": "Gjenstår",
        "none": "ingen",
        "not_assessed": "ikke vurdert",
        "title": "Tittel",
    },
    "en": {
        "breach": "Breach",
        "aware": "Aware since",
        "deadline": "Deadline (72 hours)",
        "clock": "Status",
        "risk": "Risk",
        "version": "Version",
        "told": "People told",
        "exception": "Art. 34(3) exception",
        "next": "Still to do",
        "none": "none",
        "not_assessed": "not assessed",
        "title": "Title",
    },
}

RISK_WORDS = {
    "nb": {"none": "ingen risiko", "risk": "risiko", "high_risk": "høy risiko"},
    "en": {"none": "no risk", "risk": "risk", "high_risk": "high risk"},
}

NEXT_STEPS = {
    "assess_risk": (
        "vurder risikoen: datavern breach assess {id} --risk ... --reasoning ...",
        "assess the risk: datavern breach assess {id} --risk ... --reasoning ...",
    ),
    "notify_datatilsynet": (
        "meld til Datatilsynet (datavern breach draft {id}), registrer det: "
        "datavern breach submitted {id}",
        "notify Datatilsynet (datavern breach draft {id}), then record it: "
        "datavern breach submitted {id}",
    ),
    "give_delay_reasons": (
        "fristen er passert: begrunn forsinkelsen: datavern breach update {id} --delay-reasons ...",
        "the deadline has passed: give the reasons for the delay: datavern breach update {id} "
        "--delay-reasons ...",
    ),
    "notify_subjects": (
        "varsle de berørte: datavern breach notify-subjects {id} --select ... --dry-run, "
        "eller registrer unntak: datavern breach exception {id} --art34-3 ...",
        "tell the people affected: datavern breach notify-subjects {id} --select ... "
        "--dry-run, or record an exception: datavern breach exception {id} --art34-3 ...",
    ),
}


def _fail(error: DatavernError | str, code: int | None = None) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
    raise typer.Exit(code if code is not None else getattr(error, "exit_code", 1))


def _internal(exc: Exception) -> NoReturn:
    if os.environ.get("DATAVERN_DEBUG"):
        raise exc
    _fail(f"internal error ({type(exc).__name__}); set DATAVERN_DEBUG=1 to see the traceback", 1)


def _guard(work: Callable[[], T]) -> T:
    try:
        return work()
    except DatavernError as exc:
        _fail(exc)
    except Exception as exc:
        _internal(exc)


def _run(work: Callable[[Any], T]) -> T:
    """``work(session)`` in one transaction; errors end the command without a traceback."""

    def inner() -> T:
        ensure_database()
        with session_scope() as session:
            return work(session)

    return _guard(inner)


def _lang(value: str) -> Any:
    if value not in ("nb", "en"):
        _fail(InvalidInput(Problem("use nb or en", path="lang")))
    return value


def _warn(warnings: list[Any]) -> None:
    for warning in warnings:
        err_console.print(f"[yellow]warning:[/] {escape(str(warning))}", soft_wrap=True)


# --------------------------------------------------------------------------- #
# Input from flags and files
# --------------------------------------------------------------------------- #


def _read_file(path: Path) -> tuple[dict[str, Any], dict[str, Location]]:
    """A breach as YAML or JSON (one mapping); positions of its keys for error messages."""
    from datavern.register.yamlsafe import YamlProblems, parse

    try:
        if path.stat().st_size > MAX_FILE:
            raise InvalidInput(
                Problem(f"the file is larger than {MAX_FILE // 1_000_000} MB", Location(str(path)))
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(Problem("no such file", Location(str(path)))) from None
    except UnicodeDecodeError:
        raise InvalidInput(Problem("the file is not UTF-8 text", Location(str(path)))) from None
    except IsADirectoryError:
        raise InvalidInput(Problem("is a folder, not a file", Location(str(path)))) from None
    try:
        document = parse(text, str(path))
    except YamlProblems as exc:
        raise InvalidInput(exc.problems) from None
    if not isinstance(document.data, dict):
        raise InvalidInput(
            Problem("expected a mapping of breach fields", Location(str(path), 1, 1))
        )
    locations: dict[str, Location] = {}
    for key in document.data:
        where = document.keys.get((key,)) or document.values.get((key,))
        if where is not None:
            locations[str(key)] = where
    return dict(document.data), locations


def _flags(**values: Any) -> dict[str, Any]:
    """Only the flags that were given (lists: only when non-empty)."""
    return {k: v for k, v in values.items() if v is not None and v != []}


@app.command("new")
def new(
    file: Path | None = typer.Option(
        None, "--file", "-f", help="The breach as YAML or JSON (fields as in docs/breaches.md)."
    ),
    title: str | None = typer.Option(None, "--title", help="A short title."),
    description: str | None = typer.Option(None, "--description", help="What happened."),
    cause: str | None = typer.Option(None, "--cause", help="Main cause, and how it arose."),
    aware_at: str | None = typer.Option(
        None, "--aware-at", help="When you became aware of the breach (2026-11-20 14:30)."
    ),
    discovered_at: str | None = typer.Option(
        None, "--discovered-at", help="When the incident was first discovered, if earlier."
    ),
    discovered_by: str | None = typer.Option(
        None, "--discovered-by", help="Who discovered it (a role or team is enough)."
    ),
    how_discovered: str | None = typer.Option(None, "--how-discovered"),
    started_at: str | None = typer.Option(None, "--started-at", help="When the breach began."),
    ended_at: str | None = typer.Option(None, "--ended-at", help="When it ended."),
    breach_type: list[str] = typer.Option(
        [], "--type", help="confidentiality, integrity or availability; repeat for several."
    ),
    system: list[str] = typer.Option([], "--system", help="A system key of the register."),
    category: list[str] = typer.Option(
        [], "--category", help="A data category, e.g. user.contact.email; repeat."
    ),
    subject: list[str] = typer.Option(
        [], "--subject", help="Who the data is about, e.g. customer; repeat."
    ),
    people: str | None = typer.Option(None, "--people", help="People affected: 120 or 100-500."),
    records: str | None = typer.Option(None, "--records", help="Records affected: N or N-M."),
    consequences: str | None = typer.Option(None, "--consequences"),
    measures_taken: str | None = typer.Option(None, "--measures-taken"),
    measures_planned: str | None = typer.Option(None, "--measures-planned"),
    data_location: str | None = typer.Option(
        None, "--data-location", help="Where the data is now."
    ),
    contact: str | None = typer.Option(None, "--contact", help="Contact point (default: DPO)."),
    advice: str | None = typer.Option(
        None, "--advice", help="What the people affected can do themselves."
    ),
    delay_reasons: str | None = typer.Option(None, "--delay-reasons"),
    risk: str | None = typer.Option(None, "--risk", help="none, risk or high_risk."),
    reasoning: str | None = typer.Option(None, "--reasoning", help="Why that risk level."),
    lang: str = typer.Option("nb", "--lang", help="nb or en, for the summary printed."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Register a breach (art. 33(5)); the 72-hour clock runs from the moment of awareness."""
    from datavern.breaches import service

    data: dict[str, Any] = {}
    locations: dict[str, Location] = {}
    if file is not None:
        data, locations = _guard(lambda: _read_file(file))
    data.update(
        _flags(
            title=title,
            description=description,
            cause=cause,
            aware_at=aware_at,
            discovered_at=discovered_at,
            discovered_by=discovered_by,
            how_discovered=how_discovered,
            started_at=started_at,
            ended_at=ended_at,
            breach_types=breach_type,
            systems=system,
            data_categories=category,
            data_subjects=subject,
            people_affected=people,
            records_affected=records,
            consequences=consequences,
            measures_taken=measures_taken,
            measures_planned=measures_planned,
            data_location=data_location,
            contact=contact,
            advice=advice,
            delay_reasons=delay_reasons,
            risk=risk,
            risk_reasoning=reasoning,
        )
    )
    saved = _run(lambda s: service.create_breach(s, data, actor=actor(), locations=locations))
    _warn(saved.warnings)
    view = _run(lambda s: service.get_breach(s, saved.breach_id))
    if as_json:
        typer.echo(json.dumps(view.as_json(), indent=2, ensure_ascii=False))
        return
    console.print(f"registered breach [bold]{saved.breach_id}[/]", highlight=False, soft_wrap=True)
    _print_view(view, _lang(lang))


@app.command("update")
def update(
    breach_id: int = typer.Argument(..., metavar="ID"),
    file: Path | None = typer.Option(None, "--file", "-f", help="Changed fields as YAML/JSON."),
    note: str | None = typer.Option(None, "--note", help="What this update adds or corrects."),
    clear: list[str] = typer.Option([], "--clear", help="Remove an optional field; repeat."),
    title: str | None = typer.Option(None, "--title"),
    description: str | None = typer.Option(None, "--description"),
    cause: str | None = typer.Option(None, "--cause"),
    aware_at: str | None = typer.Option(None, "--aware-at"),
    discovered_at: str | None = typer.Option(None, "--discovered-at"),
    discovered_by: str | None = typer.Option(None, "--discovered-by"),
    how_discovered: str | None = typer.Option(None, "--how-discovered"),
    started_at: str | None = typer.Option(None, "--started-at"),
    ended_at: str | None = typer.Option(None, "--ended-at"),
    breach_type: list[str] = typer.Option([], "--type"),
    system: list[str] = typer.Option([], "--system"),
    category: list[str] = typer.Option([], "--category"),
    subject: list[str] = typer.Option([], "--subject"),
    people: str | None = typer.Option(None, "--people"),
    records: str | None = typer.Option(None, "--records"),
    consequences: str | None = typer.Option(None, "--consequences"),
    measures_taken: str | None = typer.Option(None, "--measures-taken"),
    measures_planned: str | None = typer.Option(None, "--measures-planned"),
    data_location: str | None = typer.Option(None, "--data-location"),
    contact: str | None = typer.Option(None, "--contact"),
    advice: str | None = typer.Option(None, "--advice"),
    delay_reasons: str | None = typer.Option(None, "--delay-reasons"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A staged update (art. 33(4)): a new version with what is now known. Lists replace."""
    from datavern.breaches import service
    from datavern.breaches.rules import BreachFacts

    changes: dict[str, Any] = {}
    locations: dict[str, Location] = {}
    if file is not None:
        changes, locations = _guard(lambda: _read_file(file))
    changes.update(
        _flags(
            title=title,
            description=description,
            cause=cause,
            aware_at=aware_at,
            discovered_at=discovered_at,
            discovered_by=discovered_by,
            how_discovered=how_discovered,
            started_at=started_at,
            ended_at=ended_at,
            breach_types=breach_type,
            systems=system,
            data_categories=category,
            data_subjects=subject,
            people_affected=people,
            records_affected=records,
            consequences=consequences,
            measures_taken=measures_taken,
            measures_planned=measures_planned,
            data_location=data_location,
            contact=contact,
            advice=advice,
            delay_reasons=delay_reasons,
        )
    )
    required = ("title", "description", "discovered_by", "aware_at")
    for name in clear:
        if name not in BreachFacts.model_fields:
            _fail(InvalidInput(Problem(f"no field {name!r} to clear", path="clear")))
        if name in required:
            _fail(InvalidInput(Problem(f"{name} is required and cannot be cleared", path="clear")))
        changes[name] = None
    if not changes:
        _fail(InvalidInput(Problem("give at least one field to change (see --help)")))
    saved = _run(
        lambda s: service.update_breach(
            s, breach_id, changes, actor=actor(), note=note, locations=locations
        )
    )
    _warn(saved.warnings)
    if as_json:
        typer.echo(
            json.dumps({"breach": breach_id, "version": saved.version, "changed": saved.changed})
        )
        return
    console.print(
        f"breach {breach_id}: version {saved.version} ({', '.join(saved.changed)})",
        highlight=False,
        soft_wrap=True,
    )


@app.command("assess")
def assess(
    breach_id: int = typer.Argument(..., metavar="ID"),
    risk: str = typer.Option(..., "--risk", help="none, risk or high_risk."),
    reasoning: str = typer.Option(..., "--reasoning", help="Why this level."),
) -> None:
    """Record the risk assessment: none, risk (notify Datatilsynet) or high_risk (tell people too).

    none: unlikely to result in a risk, no notification (the breach stays
    documented); risk: notify Datatilsynet; high_risk: also tell the people
    affected (art. 34), unless an art. 34(3) exception applies.
    """
    from datavern.breaches import service

    saved = _run(lambda s: service.assess_risk(s, breach_id, risk, reasoning, actor=actor()))
    console.print(
        f"breach {breach_id}: risk {risk} (version {saved.version})",
        highlight=False,
        soft_wrap=True,
    )


@app.command("exception")
def exception(
    breach_id: int = typer.Argument(..., metavar="ID"),
    art34_3: str = typer.Option(
        ...,
        "--art34-3",
        help="a: data unintelligible (encrypted); b: later measures remove the high risk; "
        "c: disproportionate effort (give --public-communication).",
    ),
    reasoning: str = typer.Option(..., "--reasoning", help="Why the exception applies."),
    public_communication: str | None = typer.Option(
        None, "--public-communication", help="For c: where and when the public is told."
    ),
) -> None:
    """Record why the people affected are not told one by one (art. 34(3))."""
    from datavern.breaches import service

    saved = _run(
        lambda s: service.record_exception(
            s,
            breach_id,
            art34_3,
            reasoning,
            public_communication=public_communication,
            actor=actor(),
        )
    )
    console.print(
        f"breach {breach_id}: art. 34(3)({art34_3.strip().lower()}) recorded "
        f"(version {saved.version})",
        highlight=False,
        soft_wrap=True,
    )


@app.command("submitted")
def submitted(
    breach_id: int = typer.Argument(..., metavar="ID"),
    at: str | None = typer.Option(None, "--at", help="When it was sent (default: now)."),
    reference: str | None = typer.Option(
        None, "--reference", help="Altinn's or Datatilsynet's reference."
    ),
    delay_reasons: str | None = typer.Option(
        None, "--delay-reasons", help="Required when sent more than 72 hours after awareness."
    ),
    lang: str = typer.Option("nb", "--lang", help="The language of the draft that was sent."),
) -> None:
    """Record that the current version was sent to Datatilsynet (first notice or an update)."""
    from datavern.breaches import service

    info = _run(
        lambda s: service.record_submission(
            s,
            breach_id,
            actor=actor(),
            submitted_at=at,
            reference=reference,
            delay_reasons=delay_reasons,
            lang=_lang(lang),
        )
    )
    stage = "first notification" if info.stage == "initial" else "update"
    late = " (after the deadline)" if info.late else ""
    console.print(
        f"breach {breach_id}: {stage} of version {info.version} to Datatilsynet recorded{late}",
        highlight=False,
        soft_wrap=True,
    )


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


def _moment(value: Any, lang: str) -> str:
    from datavern.breaches.draft import moment_text

    return moment_text(value, "nb" if lang == "nb" else "en") if value else "-"


def _countdown(summary: Any, lang: str) -> str:
    from datavern.breaches.rules import format_countdown

    text = format_countdown(summary.clock, lang)
    colour = {
        "running": "yellow" if summary.clock.remaining.total_seconds() < 24 * 3600 else "cyan",
        "overdue": "bold red",
        "notified": "green",
        "notified_late": "yellow",
        "not_required": "green",
    }[summary.clock.state]
    return f"[{colour}]{escape(text)}[/]"


@app.command("list")
def list_(
    lang: str = typer.Option("nb", "--lang", help="nb or en."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every breach with its countdown to the 72-hour deadline."""
    from datavern.breaches import service

    lang = _lang(lang)
    rows = _run(service.list_breaches)
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        console.print("no breaches registered", highlight=False, soft_wrap=True)
        return
    words = LABELS[lang]
    table = Table("#", words["title"], words["aware"], words["risk"])
    table.add_column(words["clock"], no_wrap=True)  # the countdown is read at a glance
    for row in rows:
        table.add_row(
            str(row.id),
            escape(row.title),
            _moment(row.aware_at, lang),
            RISK_WORDS[lang][row.risk] if row.risk else words["not_assessed"],
            _countdown(row, lang),
        )
    console.print(table)


def _print_view(view: Any, lang: str) -> None:
    words = LABELS[lang]
    s = view.summary
    console.print(
        f"[bold]{words['breach']} {s.id}: {escape(s.title)}[/]", highlight=False, soft_wrap=True
    )
    console.print(f"{words['aware']}: {_moment(s.aware_at, lang)}", highlight=False, soft_wrap=True)
    console.print(
        f"{words['deadline']}: {_moment(s.clock.deadline, lang)}", highlight=False, soft_wrap=True
    )
    console.print(f"{words['clock']}: {_countdown(s, lang)}", highlight=False, soft_wrap=True)
    risk = view.risk
    console.print(
        f"{words['risk']}: {RISK_WORDS[lang][risk['level']] if risk else words['not_assessed']}",
        highlight=False,
        soft_wrap=True,
    )
    if risk:
        console.print(
            f"  {escape(str(risk.get('reasoning', '')))}", highlight=False, soft_wrap=True
        )
    if view.exception:
        console.print(
            f"{words['exception']}: {view.exception['letter']} – "
            f"{escape(str(view.exception['reasoning']))}",
            highlight=False,
            soft_wrap=True,
        )
    told = ", ".join(f"{n.count} ({n.channel})" for n in view.notices if n.count)
    console.print(f"{words['told']}: {told or words['none']}", highlight=False, soft_wrap=True)
    console.print(f"{words['version']}: {s.version}", highlight=False, soft_wrap=True)
    if view.next_steps:
        console.print(f"{words['next']}:", highlight=False, soft_wrap=True)
        for step in view.next_steps:
            text = NEXT_STEPS[step][0 if lang == "nb" else 1].format(id=s.id)
            console.print(f"  - {escape(text)}", highlight=False, soft_wrap=True)


@app.command("show")
def show(
    breach_id: int = typer.Argument(..., metavar="ID"),
    lang: str = typer.Option("nb", "--lang", help="nb or en."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One breach: countdown ("47 t 12 min igjen" / "overdue by ..."), risk, what is left to do."""
    from datavern.breaches import service

    lang = _lang(lang)
    view = _run(lambda s: service.get_breach(s, breach_id))
    if as_json:
        typer.echo(json.dumps(view.as_json(), indent=2, ensure_ascii=False))
        return
    _print_view(view, lang)
    table = Table("v", "when", "by", "what")
    for version in view.versions:
        what = version.kind + (f": {', '.join(version.changed)}" if version.changed else "")
        if version.note:
            what += f" – {version.note}"
        table.add_row(
            str(version.number),
            _moment(version.created_at, lang),
            escape(version.created_by),
            escape(what),
        )
    console.print(table)
    for sub in view.submissions:
        console.print(
            f"sent to Datatilsynet: version {sub.version} ({sub.stage}) "
            f"{_moment(sub.submitted_at, lang)}"
            + (f", reference {escape(sub.reference)}" if sub.reference else "")
            + (" – late" if sub.late else ""),
            highlight=False,
            soft_wrap=True,
        )


@app.command("draft")
def draft(
    breach_id: int = typer.Argument(..., metavar="ID"),
    fmt: str = typer.Option("text", "--format", help="text or pdf."),
    lang: str = typer.Option("nb", "--lang", help="nb or en."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (needed for pdf; text goes to stdout)."
    ),
    version: int | None = typer.Option(None, "--version", help="An earlier version."),
) -> None:
    """The notification to Datatilsynet with the fields of its breach form ("Melde avvik")."""
    from datavern.breaches import service
    from datavern.breaches.draft import draft_pdf, draft_text

    known = _lang(lang)
    if fmt not in ("text", "pdf"):
        _fail(InvalidInput(Problem("use text or pdf", path="format")))
    if fmt == "pdf" and output is None:
        _fail(InvalidInput(Problem("a PDF needs --output FILE", path="output")))

    def work(session: Any) -> Any:
        made = service.draft_for(session, breach_id, lang=known, version=version)
        number = version or service.get_breach(session, breach_id).summary.version
        service.record_draft_export(
            session, breach_id, version=number, fmt=fmt, lang=known, actor=actor()
        )
        return made

    made = _run(work)
    if fmt == "text":
        text = draft_text(made)
        if output is None:
            typer.echo(text, nl=False)
        else:
            _guard(lambda: output.write_text(text, encoding="utf-8"))
            console.print(
                f"draft written to {escape(str(output))}", highlight=False, soft_wrap=True
            )
    else:
        assert output is not None
        data = _guard(lambda: draft_pdf(made))
        _guard(lambda: output.write_bytes(data))
        console.print(f"draft written to {escape(str(output))}", highlight=False, soft_wrap=True)
    missing = made.missing()
    if missing:
        _warn([f"not known yet (to be sent later, art. 33(4)): {', '.join(missing)}"])


@app.command("notify-subjects")
def notify_subjects(
    breach_id: int = typer.Argument(..., metavar="ID"),
    select_: str = typer.Option(
        ...,
        "--select",
        help='Who to tell, e.g. "shop.customers where created_at < 2024-01-01" '
        "(conditions: = != < <= > >= in (...) is null, joined by and).",
    ),
    channel: str = typer.Option("email", "--channel", help="email or sms."),
    lang: str = typer.Option("nb", "--lang", help="nb or en."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count the people and show the message; send nothing."
    ),
    message_file: Path | None = typer.Option(
        None,
        "--message-file",
        help="Your own message (for e-mail, a first line 'Subject: ...' sets the subject).",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Tell the people affected (art. 34) by e-mail or SMS; everyone is told once."""
    from datavern.breaches import subjects

    known = _lang(lang)
    custom = None
    if message_file is not None:
        custom = _guard(lambda: _read_message(message_file))

    def work() -> Any:
        ensure_database()
        return subjects.notify_subjects(
            breach_id,
            select_,
            channel,
            known,
            actor=actor(),
            dry_run=dry_run,
            custom_message=custom,
        )

    result = _guard(work)
    _warn(result.warnings)
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
        return
    if result.dry_run:
        console.print("[bold]dry run: nothing sent[/]", highlight=False, soft_wrap=True)
        if result.message.subject:
            console.print(
                f"Subject: {escape(result.message.subject)}", highlight=False, soft_wrap=True
            )
        console.print(escape(result.message.body), highlight=False, soft_wrap=True)
    console.print(
        f"rows matching: {result.rows}; people to tell: {result.selected}; "
        f"already told: {result.already}; without address: {result.missing}; "
        f"invalid addresses: {result.invalid}",
        highlight=False,
        soft_wrap=True,
    )
    if not result.dry_run:
        console.print(
            f"sent: {result.sent}; failed: {result.failed} (message version "
            f"{result.message_number})",
            highlight=False,
            soft_wrap=True,
        )
        if result.delivery:
            console.print(
                "e-mail delivery: " + ", ".join(f"{k} {v}" for k, v in result.delivery.items()),
                highlight=False,
                soft_wrap=True,
            )
        if result.failed:
            raise typer.Exit(1)


@app.command("notices")
def notices(
    breach_id: int = typer.Argument(..., metavar="ID"),
    resume: int | None = typer.Option(
        None,
        "--resume",
        metavar="RUN",
        help="Continue sending RUN (stopped, or its process killed); people told are skipped.",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The sendings to the people affected: state, sent and failed so far (art. 34)."""
    from datavern.breaches import service, subjects
    from datavern.jobs.runner import get_runner

    if resume is not None:

        def work() -> Any:
            ensure_database()
            with session_scope() as session:
                service.get_breach(session, breach_id)
                unfinished = {r.id for r in subjects.unfinished_runs(session, breach_id)}
            if resume not in unfinished:
                raise InvalidInput(
                    Problem(f"breach {breach_id} has no unfinished sending {resume}", path="resume")
                )
            return get_runner().enqueue("breach.notify_subjects", run_id=resume)

        outcome = _guard(work)
        if outcome is None and not as_json:
            console.print(f"sending {resume} queued for a worker", highlight=False)
    view = _run(lambda session: service.get_breach(session, breach_id))
    runs = [
        {
            "run": r.id,
            "state": r.state,
            "channel": r.channel,
            "lang": r.lang,
            "selection": r.selection,
            "message_version": r.message_number,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "error": r.error,
            **subjects.public_counts(r.counts),
        }
        for r in view.runs
    ]
    if as_json:
        typer.echo(json.dumps(runs, indent=2, ensure_ascii=False))
        return
    if not runs:
        console.print("nothing has been sent for this breach", highlight=False)
        return
    table = Table("run", "state", "channel", "selection", "sent", "failed", "already told")
    for r in runs:
        sent = str(r.get("sent", 0))
        if r["state"] in ("queued", "running", "failed") and r.get("to_tell") is not None:
            sent += f" of {r['to_tell']}"
        table.add_row(
            str(r["run"]),
            r["state"],
            f"{r['channel']} ({r['lang']})",
            escape(r["selection"]),
            sent,
            str(r.get("failed", 0)),
            str(r.get("already_told", 0)),
        )
    console.print(table)
    for r in runs:
        if r["state"] in ("queued", "running", "failed"):
            console.print(
                f"sending {r['run']} is {r['state']}"
                + (f": {escape(r['error'])}" if r["error"] else "")
                + f"; continue it with: datavern breach notices {breach_id} --resume {r['run']}",
                highlight=False,
                soft_wrap=True,
            )


def _read_message(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE:
            raise InvalidInput(Problem("the message file is too large", Location(str(path))))
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(Problem("no such file", Location(str(path)))) from None
    except UnicodeDecodeError:
        raise InvalidInput(Problem("the file is not UTF-8 text", Location(str(path)))) from None


@app.command("remind")
def remind(
    lang: str = typer.Option("nb", "--lang", help="Language of the reminders."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """E-mail the organisation and its DPO about breaches nearing or past the 72 hours.

    One reminder per breach at 48, 24 and 6 hours left and when overdue; run it
    often (the scheduler does) — nothing is sent twice.
    """
    from datavern.breaches import service

    known = _lang(lang)
    results = _run(lambda s: service.send_reminders(s, actor=actor(), lang=known))
    delivery = None
    if any(r.sent for r in results):
        from datavern.notify.email import deliver

        delivery = _guard(lambda: deliver().as_json())
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "reminders": [
                        {
                            "breach": r.breach_id,
                            "threshold": r.threshold,
                            "recipients": r.recipients,
                            "sent": r.sent,
                            "problem": r.problem,
                        }
                        for r in results
                    ],
                    "delivery": delivery,
                },
                indent=2,
            )
        )
    else:
        if not results:
            console.print("no reminders due", highlight=False, soft_wrap=True)
        for r in results:
            if r.sent:
                console.print(
                    f"breach {r.breach_id}: reminder ({r.threshold}) to {r.recipients} address(es)",
                    highlight=False,
                    soft_wrap=True,
                )
    problems = [r for r in results if not r.sent]
    for r in problems:
        err_console.print(
            f"[bold red]error:[/] breach {r.breach_id}: {escape(r.problem or '')}", soft_wrap=True
        )
    if problems:
        raise typer.Exit(1)
