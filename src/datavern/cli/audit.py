"""`datavern audit`: prove the audit log untouched."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.markup import escape

from datavern.cli.common import console, ensure_database, err_console
from datavern.core import audit, clock
from datavern.core.db import session_scope

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check the audit log and the consent ledger; exit 1 and name the first bad entry or
    record if either was tampered with."""
    from datavern.consent.service import verify_ledger

    ensure_database()
    with session_scope() as session:
        result = audit.verify(session)
        ledger = verify_ledger(session)
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "ok": result.ok and ledger.ok,
                    "entries": result.entries,
                    "first_bad_entry": result.first_bad_seq,
                    "reason": result.reason or None,
                    "consent_ledger": ledger.as_json(),
                }
            )
        )
    else:
        if result.ok:
            console.print(f"audit log intact: {result.entries} entries verified")
        else:
            err_console.print(
                f"audit log TAMPERED at entry {result.first_bad_seq}: {escape(result.reason)} "
                f"({result.entries} entries verified before it)",
                highlight=False,
                soft_wrap=True,
            )
        if ledger.ok:
            console.print(f"consent ledger intact: {ledger.records} records verified")
        else:
            err_console.print(_ledger_tampered(ledger), highlight=False, soft_wrap=True)
    raise typer.Exit(0 if result.ok and ledger.ok else 1)


def _when(value: datetime) -> str:
    """A time as the admin console shows it (Europe/Oslo), with its UTC offset."""
    if value.tzinfo is None:  # stored as UTC
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(clock.OSLO)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def _ledger_tampered(ledger: Any) -> str:
    """The line for a consent ledger that does not hold (markup escaped). A record is
    named only when the check names one: a text version no record names, or a state
    row no record made, is named by the reason alone."""
    reason = escape(ledger.reason)
    if ledger.first_bad_seq is None:
        return f"consent ledger TAMPERED: {reason} (the chain of {ledger.records} records holds)"
    named = f" (id {ledger.first_bad_id})" if ledger.first_bad_id else ""
    if ledger.first_bad_text is None and ledger.records == ledger.first_bad_seq - 1:
        after = f"{ledger.records} records verified before it"
    else:  # the chain held; a text or the state table did not
        after = f"the chain of {ledger.records} records holds"
    return f"consent ledger TAMPERED at record {ledger.first_bad_seq}{named}: {reason} ({after})"


@app.command("list")
def list_entries(
    limit: int = typer.Option(50, help="How many of the newest entries to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """Show the newest audit entries (what was touched, never the values); times in
    Europe/Oslo time with the UTC offset, as in the admin console."""
    from sqlalchemy import select

    ensure_database()
    with session_scope() as session:
        rows = (
            session.execute(
                select(audit.AuditEntry).order_by(audit.AuditEntry.seq.desc()).limit(limit)
            )
            .scalars()
            .all()
        )
        for e in reversed(rows):
            if as_json:
                typer.echo(
                    json.dumps(
                        {
                            "seq": e.seq,
                            "at": e.at.isoformat(),
                            "actor": e.actor,
                            "action": e.action,
                            "target": e.target,
                            "details": e.details,
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                console.print(
                    f"{e.seq:>6} {_when(e.at)} {escape(e.actor)} {escape(e.action)} "
                    f"{escape(e.target)}",
                    highlight=False,
                    soft_wrap=True,
                )
