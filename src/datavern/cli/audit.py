"""`datavern audit`: prove the audit log untouched."""

from __future__ import annotations

import json

import typer

from datavern.cli.common import console, ensure_database, err_console
from datavern.core import audit
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
                f"audit log TAMPERED at entry {result.first_bad_seq}: {result.reason} "
                f"({result.entries} entries verified before it)"
            )
        if ledger.ok:
            console.print(f"consent ledger intact: {ledger.records} records verified")
        else:
            named = f" (id {ledger.first_bad_id})" if ledger.first_bad_id else ""
            err_console.print(
                f"consent ledger TAMPERED at record {ledger.first_bad_seq}{named}: "
                f"{ledger.reason} ({ledger.records} records verified before it)"
            )
    raise typer.Exit(0 if result.ok and ledger.ok else 1)


@app.command("list")
def list_entries(
    limit: int = typer.Option(50, help="How many of the newest entries to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """Show the newest audit entries (what was touched, never the values)."""
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
                    f"{e.seq:>6} {e.at:%Y-%m-%d %H:%M:%S} {e.actor} {e.action} {e.target}"
                )
