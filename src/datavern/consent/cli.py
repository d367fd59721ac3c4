"""`datavern consent`: the consent ledger from the command line.

Parse, call the service, print. Subjects are written ``account:ID``,
``email:ADDRESS`` (or the bare address; stored as a keyed hash),
``emailhash:HEX`` or ``visitor:ID``. Exit codes: 0 done (``may-process``: allowed),
1 ``may-process`` says no, 2 invalid input.

Times are printed in Europe/Oslo time with the UTC offset (``2026-11-21 17:03 +01:00``),
the time the admin console shows; ``--json`` gives ISO 8601. Ids, hashes and text
version ids are never cut or wrapped: a line is one line however long, and when the
output is not a terminal ``texts`` prints tab-separated lines (full hashes) instead of a
table.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from datavern.cli.common import (
    actor,
    console,
    fail_with,
    in_transaction,
)
from datavern.core import clock

app = typer.Typer(
    help="The consent ledger: record, withdraw, state, may-process, proof, texts, re-consent. "
    "Times are Europe/Oslo time with the UTC offset (2026-11-21 17:03 +01:00), as in the "
    "admin console; --json gives ISO 8601. Ids, hashes and text versions are never cut or "
    "wrapped: each stays whole on its line, however long (only the texts table in a "
    "terminal shows a hash's start; piped, texts prints tab-separated lines).",
    no_args_is_help=True,
)

T = TypeVar("T")

SUBJECT_HELP = "account:ID, email:ADDRESS (or the address), emailhash:HEX or visitor:ID."


_fail = fail_with


_run = in_transaction


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _when(value: datetime | None) -> str:
    """A time as the admin console shows it (Europe/Oslo), with its UTC offset."""
    if value is None:
        return "-"
    if value.tzinfo is None:  # stored as UTC
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(clock.OSLO)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def _piped() -> bool:
    """The output goes to a pipe or a file, not a terminal."""
    return not console.is_terminal


def _say(line: str, *, prose: bool = False) -> None:
    """Print one line with markup. Never wrapped by rich (an id stays whole on its line;
    the terminal folds it on screen and copying gives it back whole), except ``prose`` in
    a terminal: long free text is wrapped at word boundaries there."""
    console.print(line, highlight=False, soft_wrap=not prose or _piped())


def _print_record(rec: Any) -> None:
    _say(
        f"recorded {rec.decision} for [bold]{escape(rec.purpose)}[/] at {_when(rec.at)} "
        f"(record {rec.seq}, id {rec.id}, text {rec.text_version_id or '-'})"
    )
    if rec.expires_at:
        _say(f"expires {_when(rec.expires_at)}")


@app.command("record")
def record(
    subject: str = typer.Argument(..., help=SUBJECT_HELP),
    purpose: str = typer.Argument(..., help="A consent purpose from the register."),
    decision: str = typer.Option("grant", help="grant, deny, withdraw or object (art. 21)."),
    method: str = typer.Option(
        "api", help="How it was collected: form_checkbox, api, double_opt_in, ..."
    ),
    text_version: str | None = typer.Option(
        None, "--text-version", help="The text version shown (default: the current one)."
    ),
    lang: str | None = typer.Option(None, "--lang", help="nb or en (default: first language)."),
    collection_point: str | None = typer.Option(
        None, "--collection-point", help="Where it was collected: a URL or a system name."
    ),
    expires: datetime | None = typer.Option(
        None, "--expires", help="When the consent lapses, in Europe/Oslo time."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the record as JSON."),
) -> None:
    """Append one decision to the ledger."""
    from datavern.consent import service

    # The time the user typed is Oslo time, the time every output shows.
    expires_at = expires
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=clock.OSLO)
    rec = _run(
        lambda s: service.record(
            s,
            subject=subject,
            purpose=purpose,
            decision=decision,
            method=method,
            text_version=text_version,
            language=lang,
            collection_point=collection_point,
            expires_at=expires_at,
            recorded_by=actor(),
        )
    )
    _print_json(rec.as_json()) if as_json else _print_record(rec)


@app.command("withdraw")
def withdraw(
    subject: str = typer.Argument(..., help=SUBJECT_HELP),
    purpose: str = typer.Argument(..., help="A consent purpose from the register."),
    method: str = typer.Option("api", help="How the withdrawal came in."),
    collection_point: str | None = typer.Option(None, "--collection-point"),
    as_json: bool = typer.Option(False, "--json", help="Print the record as JSON."),
) -> None:
    """Withdraw a consent (as easy as granting it, art. 7(3))."""
    from datavern.consent import service

    rec = _run(
        lambda s: service.withdraw(
            s,
            subject=subject,
            purpose=purpose,
            method=method,
            collection_point=collection_point,
            recorded_by=actor(),
        )
    )
    _print_json(rec.as_json()) if as_json else _print_record(rec)


@app.command("state")
def state(
    subject: str = typer.Argument(..., help=SUBJECT_HELP),
    purpose: str = typer.Argument(..., help="A consent purpose from the register."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The subject's current consent for a purpose."""
    from datavern.consent import service

    view = _run(lambda s: service.state(s, subject, purpose))
    if as_json:
        _print_json(view.as_json())
        return
    expired = view.status == "expired" and view.expires_at is not None
    if expired:
        # Expired since the grant lapsed, not since it was given.
        when = f" since {_when(view.expires_at)} (granted {_when(view.at)} by {view.method})"
    elif view.status == "superseded":
        when = f" (granted {_when(view.at)} by {view.method})"
    else:
        when = f" since {_when(view.at)} by {view.method}" if view.at else ""
    _say(
        f"{escape(view.purpose)}: [bold]{view.status}[/]"
        + when
        + (f", text {view.text_version}" if view.text_version else "")
    )
    if view.expires_at and not expired:
        _say(f"expires {_when(view.expires_at)}")
    if view.reconsent_cutoff:
        _say(
            f"asked again: the old consent stops counting on {view.reconsent_cutoff} "
            "(from 00:00 Europe/Oslo)"
        )


@app.command("may-process")
def may_process(
    subject: str = typer.Argument(..., help=SUBJECT_HELP),
    purpose: str = typer.Argument(
        ..., help="A consent purpose, an activity key, a data use, or storage."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """May the subject's data be processed for the purpose now? Exit 0 yes, 1 no."""
    from datavern.consent import service

    answer = _run(lambda s: service.may_process(s, subject, purpose))
    if as_json:
        _print_json(answer.as_json())
    else:
        verdict = "[green]yes[/]" if answer.allowed else "[red]no[/]"
        _say(f"{verdict}: {escape('; '.join(answer.reasons))}")
        if answer.restricted_since:
            _say(f"restricted since {_when(answer.restricted_since)}")
    raise typer.Exit(0 if answer.allowed else 1)


@app.command("proof")
def proof(
    subject: str = typer.Argument(..., help=SUBJECT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (every field, every text)."),
) -> None:
    """Every record of a subject with the exact text that was shown (art. 7(1)). A record
    whose text version is missing or no longer matches the hash it holds gets a WARNING
    line under it."""
    from datavern.consent import service

    def work(session: Any) -> tuple[str, list[Any]]:
        ref = service.subject_of(subject).ref
        return ref, service.proof(session, subject, actor=actor())

    ref, items = _run(work)
    if as_json:
        _print_json({"subject": ref, "records": [i.as_json() for i in items]})
        return
    _say(f"subject [bold]{escape(ref)}[/]: {len(items)} records")
    for item in items:
        rec = item.record
        _say(
            f"\n#{rec.seq} {_when(rec.at)} [bold]{rec.decision}[/] {escape(rec.purpose)} "
            f"by {rec.method} at {escape(rec.collection_point or '-')} "
            f"(ip {rec.ip or '-'}, id {rec.id})"
        )
        if item.warning:
            _say(f"  [bold red]WARNING:[/] {escape(item.warning)}")
        if item.text is not None:
            content = item.text.content
            _say(f"  text {item.text.id} sha256 {item.text.content_hash}")
            _say(
                f"  {escape(str(content.get('name')))}: {escape(str(content.get('text')))}",
                prose=True,
            )
            if content.get("withdraw"):
                _say(f"  {escape(str(content.get('withdraw')))}", prose=True)


@app.command("texts")
def texts(
    purpose: str | None = typer.Argument(None, help="Only this purpose."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON with the full texts."),
) -> None:
    """Every version of the consent texts (id, hash, language, valid from). In a terminal a
    table (the hash's first 16 characters); otherwise one line per version with the fields
    tab-separated, none cut: version, language, valid from, sha256 (all of it), name."""
    from datavern.consent import service

    rows = _run(lambda s: service.list_texts(s, purpose))
    if as_json:
        _print_json([t.as_json() for t in rows])
        return
    if not rows:
        console.print("no consent texts yet (apply a register with consent_purposes)")
        return
    if _piped():
        for t in rows:
            name = " ".join(str(t.content.get("name")).split())  # no tab or newline
            fields = (t.id, t.language, _when(t.valid_from), t.content_hash, name)
            typer.echo("\t".join(fields))
        return
    table = Table("version", "lang", "valid from", "sha256 (start)", "name")
    # The ids and the time keep their width; the name is what gives way.
    table.columns[0].no_wrap = True
    table.columns[0].min_width = max(len(t.id) for t in rows)
    table.columns[2].no_wrap = True
    table.columns[2].min_width = len(_when(rows[0].valid_from))
    table.columns[3].no_wrap = True
    table.columns[3].min_width = 17
    for t in rows:
        table.add_row(
            escape(t.id),
            t.language,
            _when(t.valid_from),
            t.content_hash[:16] + "…",
            escape(str(t.content.get("name"))),
        )
    console.print(table)


@app.command("reconsent")
def reconsent(
    purpose: str = typer.Argument(..., help="The consent purpose whose text changed."),
    cutoff: datetime = typer.Option(
        ..., "--cutoff", formats=["%Y-%m-%d"], help="From this day old consents stop counting."
    ),
    no_mail: bool = typer.Option(False, "--no-mail", help="Do not e-mail the subjects."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ask again after a material text change; old consents stop counting at the cut-off."""
    from datavern.consent import service
    from datavern.notify import email

    day: date = cutoff.date()
    view = _run(lambda s: service.start_reconsent(s, purpose, day, actor=actor(), mail=not no_mail))
    delivered = email.deliver()
    if as_json:
        _print_json({**view.as_json(), "delivery": delivered.as_json()})
        return
    _say(
        f"re-consent {view.id} for [bold]{escape(purpose)}[/]: {view.affected} subjects consented "
        f"to an older text; {view.mailed} e-mailed; old consents stop counting on "
        f"{view.cutoff_date} (from 00:00 Europe/Oslo)"
    )
    if delivered.kept:
        _say("no SMTP host is configured: the messages wait in the outbox (admin console)")


@app.command("unsubscribe")
def unsubscribe(
    token: str = typer.Argument(..., help="The token from an unsubscribe link or mail."),
) -> None:
    """Record the withdrawal an unsubscribe link or mailto request asks for."""
    from datavern.consent import service

    rec = _run(lambda s: service.unsubscribe(s, token))
    if rec is None:
        _say("already withdrawn: nothing recorded")
    else:
        _print_record(rec)
