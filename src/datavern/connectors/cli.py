"""`datavern connection`: the company's databases Datavern reads and writes."""

from __future__ import annotations

import json
import sys
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
from datavern.connectors import secrets, service
from datavern.connectors.base import DatabaseDescription

app = typer.Typer(
    help=(
        "Connections to the company's databases (PostgreSQL, MariaDB/MySQL, SQLite). "
        f"URLs are stored encrypted with the key in {secrets.KEY_ENV}."
    ),
    no_args_is_help=True,
)

T = TypeVar("T")


_fail = fail_with


_run = in_transaction


@app.command("keygen")
def keygen() -> None:
    """Print a new encryption key for DATAVERN_CONNECTION_KEY (nothing is stored)."""
    typer.echo(secrets.generate_key())
    err_console.print(
        f"Set it as {secrets.KEY_ENV} for every Datavern process and keep a copy in your "
        "secret store; connections added with it cannot be read without it.",
        highlight=False,
    )


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Name, e.g. crm: a-z, 0-9, _ and -, at most 64."),
    url: str = typer.Argument(
        ...,
        help=(
            "SQLAlchemy URL, e.g. postgresql://user:password@host:5432/db, "
            "mysql://user:password@host/db, sqlite:///path/app.db. "
            "Give - to read it from standard input (keeps the password out of shell history)."
        ),
    ),
    replace: bool = typer.Option(False, "--replace", help="Change the URL of an existing one."),
) -> None:
    """Store a connection; the URL is encrypted, the password never shown again."""
    if url == "-":
        url = sys.stdin.readline().strip()
    info = _run(lambda s: service.add_connection(s, name, url, actor=actor(), replace=replace))
    console.print(
        f"connection {escape(info.name)} saved: {escape(info.url)}\n"
        f"check it with: datavern connection test {escape(info.name)}",
        highlight=False,
    )


@app.command("test")
def check(name: str = typer.Argument(..., help="The connection's name.")) -> None:
    """Connect and run a trivial query; exit 1 if the database cannot be reached."""
    result = _run(lambda s: service.check_connection(s, name, actor=actor()))
    if result.ok:
        console.print(f"ok: {escape(result.message)}", highlight=False)
        return
    err_console.print(f"[bold red]failed:[/] {escape(result.message)}", soft_wrap=True)
    raise typer.Exit(1)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the stored connections (passwords masked). Needs no key."""
    infos = _run(service.list_connections)
    if as_json:
        typer.echo(json.dumps([i.as_json() for i in infos], ensure_ascii=False, indent=2))
        return
    if not infos:
        console.print("no connections yet; add one with: datavern connection add NAME URL")
        return
    table = Table("name", "type", "url", "last test (UTC)")
    table.columns[2].overflow = "fold"
    for info in infos:
        if info.last_test_at is None:
            tested = "never"
        else:
            outcome = "ok" if info.last_test_ok else "failed"
            tested = f"{outcome} {info.last_test_at:%Y-%m-%d %H:%M}"
        table.add_row(escape(info.name), info.backend, escape(info.url), tested)
    console.print(table)


@app.command("remove")
def remove(name: str = typer.Argument(..., help="The connection's name.")) -> None:
    """Forget a connection (the database itself is not touched)."""
    _run(lambda s: service.remove_connection(s, name, actor=actor()))
    console.print(f"connection {escape(name)} removed", highlight=False)


@app.command("rekey")
def rekey() -> None:
    """Encrypt every stored URL again with the first key in DATAVERN_CONNECTION_KEY.

    To change the key: set DATAVERN_CONNECTION_KEY=NEW,OLD, run this, then keep only NEW.
    """
    count = _run(lambda s: service.rekey_connections(s, actor=actor()))
    console.print(f"{count} connection(s) encrypted with the first key", highlight=False)


@app.command("describe")
def describe(
    name: str = typer.Argument(..., help="The connection's name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show the tables, columns, types and keys of the live database (reads no rows)."""

    def work(session: Any) -> tuple[service.ConnectionInfo, DatabaseDescription]:
        return service.get_connection(session, name), service.describe_connection(session, name)

    info, description = _run(work)
    if as_json:
        typer.echo(json.dumps(_description_json(info, description), ensure_ascii=False, indent=2))
        return
    console.print(
        f"{escape(info.name)}: {escape(info.url)} ({len(description.collections)} tables)",
        highlight=False,
    )
    for collection in description.collections:
        table = Table("field", "type", "null", "key", title=escape(collection.name))
        for column in collection.columns:
            table.add_row(
                escape(column.name),
                escape(column.type),
                "yes" if column.nullable else "no",
                "primary" if column.primary_key else "",
            )
        console.print(table)
        for fk in collection.foreign_keys:
            console.print(
                f"  ({escape(', '.join(fk.columns))}) -> {escape(fk.referred_collection)}"
                f"({escape(', '.join(fk.referred_columns))})",
                highlight=False,
            )


def _description_json(
    info: service.ConnectionInfo, description: DatabaseDescription
) -> dict[str, Any]:
    return {
        "name": info.name,
        "backend": description.backend,
        "url": info.url,
        "collections": [
            {
                "name": c.name,
                "primary_key": list(c.primary_key),
                "columns": [
                    {
                        "name": col.name,
                        "type": col.type,
                        "kind": col.kind,
                        "nullable": col.nullable,
                        "primary_key": col.primary_key,
                        "max_length": col.max_length,
                        "choices": list(col.choices) if col.choices else None,
                    }
                    for col in c.columns
                ],
                "foreign_keys": [
                    {
                        "columns": list(fk.columns),
                        "referred_collection": fk.referred_collection,
                        "referred_columns": list(fk.referred_columns),
                        "on_delete": fk.on_delete,
                    }
                    for fk in c.foreign_keys
                ],
            }
            for c in description.collections
        ],
    }
