"""The `datavern` command. Each feature adds its own command group from its cli.py."""

from __future__ import annotations

import typer

from datavern import __version__
from datavern.cli.common import run_app

app = typer.Typer(
    name="datavern",
    help=(
        "Datavern keeps the promises a privacy notice makes: register, notice, requests,"
        " consent, retention, breaches."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"datavern {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Datavern: the system behind a privacy notice."""


def _register_groups() -> None:
    from datavern.accounts.cli import app as user_app
    from datavern.accounts.cli import token_app
    from datavern.breaches.cli import app as breach_app
    from datavern.cli.audit import app as audit_app
    from datavern.cli.db import app as db_app
    from datavern.connectors.cli import app as connection_app
    from datavern.consent.cli import app as consent_app
    from datavern.dsr.cli import app as dsr_app
    from datavern.dsr.requests_cli import app as requests_app
    from datavern.jobs.cli import worker
    from datavern.jobs.scheduler import scheduler
    from datavern.notices.cli import app as notice_app
    from datavern.register.cli import app as register_app
    from datavern.register.cli import check, init
    from datavern.retention.cli import app as retention_app
    from datavern.web.cli import demo, serve

    app.command("init")(init)
    app.command("check")(check)
    app.add_typer(register_app, name="register")
    app.add_typer(notice_app, name="notice")
    app.add_typer(audit_app, name="audit")
    app.add_typer(user_app, name="user")
    app.add_typer(db_app, name="db")
    app.add_typer(connection_app, name="connection")
    app.add_typer(dsr_app, name="dsr")
    app.add_typer(requests_app, name="requests")
    app.add_typer(consent_app, name="consent")
    app.add_typer(retention_app, name="retention")
    app.add_typer(breach_app, name="breach")
    app.add_typer(token_app, name="token")
    app.command("worker")(worker)
    app.command("scheduler")(scheduler)
    app.command("serve")(serve)
    app.command("demo")(demo)


_register_groups()


def entrypoint() -> None:
    run_app(app)
