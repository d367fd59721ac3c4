"""`datavern serve` and `datavern demo`.

Demo decisions:
- The demo register is `examples/demo/` of the source tree (found from the current
  folder or from the installed package); without it the command fails and says so.
- Applying is idempotent: when the newest applied version already has the demo
  register's content hash, nothing new is applied (register.service.apply_register).
- The `admin` user gets a freshly generated password on every `datavern demo`
  (created if absent, otherwise reset, re-enabled and made admin). The password is
  printed once on the console and stored only as an argon2id hash; resetting it is
  what lets a demo user who lost the password in the scrollback get back in.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from datavern.cli.common import actor, console, ensure_database, fail
from datavern.core.config import get_settings, reset_settings
from datavern.core.errors import DatavernError
from datavern.web import demo_source

DEMO_ADMIN = "admin"


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _run(host: str, port: int) -> None:
    import uvicorn

    from datavern.web.app import create_app

    _configure_logging()
    # access_log=False: uvicorn's access log records client addresses (personal data);
    # the app logs each request itself without them.
    uvicorn.run(create_app(), host=host, port=port, access_log=False, log_level="info")


def use_base_url(default: str) -> None:
    """Links in e-mails and pages point at the address served, unless DATAVERN_BASE_URL
    says otherwise (e.g. the public address behind a proxy)."""
    if not os.environ.get("DATAVERN_BASE_URL", "").strip():
        os.environ["DATAVERN_BASE_URL"] = default
    reset_settings()


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
) -> None:
    """Serve the privacy notice, the admin console and the API (migrates the database first).

    Links in e-mails use DATAVERN_BASE_URL, or this host and port when it is not set."""
    try:
        ensure_database()
    except DatavernError as exc:
        fail(exc)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    use_base_url(f"http://{shown_host}:{port}")
    _run(host, port)


def demo_candidates() -> list[Path]:
    """Where the demo register may be: the current folder's checkout, then the source
    tree the package was installed from (an editable install, as `make setup` makes)."""
    import datavern

    return [
        Path.cwd() / "examples" / "demo",
        Path(datavern.__file__).resolve().parents[2] / "examples" / "demo",
    ]


def find_demo_register() -> Path:
    """`examples/demo/register.yaml` from the current folder or the source tree."""
    candidates = demo_candidates()
    for folder in candidates:
        if (folder / "register.yaml").is_file():
            return folder
    raise DatavernError(
        "the demo register was not found (looked for examples/demo/register.yaml in "
        + " and ".join(str(c) for c in dict.fromkeys(candidates))
        + "); run `datavern demo` from a checkout of the Datavern repository"
    )


def prepare_demo() -> tuple[str, int, bool, str]:
    """Migrate, apply the demo register, connect its customer database, (re)set the admin
    password.

    Returns (organisation name, version number in force, whether it was applied now,
    the new admin password).
    """
    from datavern.accounts import service as accounts
    from datavern.connectors import service as connections
    from datavern.core.db import session_scope
    from datavern.register.loader import load_register
    from datavern.register.service import apply_register

    folder = find_demo_register()
    ensure_database()
    loaded = load_register(folder)
    who = actor()
    data_dir = get_settings().data_dir
    source, _made = demo_source.create_source(data_dir)
    demo_source.ensure_connection_key(data_dir)
    with session_scope() as session:
        result = apply_register(session, loaded, who, "datavern demo")
        known = {c.name for c in connections.list_connections(session)}
        if demo_source.DATASET not in known:
            connections.add_connection(
                session, demo_source.DATASET, f"sqlite:///{source}", actor=who
            )
        number, applied_now = result.version.number, result.created
        password = accounts.generate_password()
        if accounts.get_user(session, DEMO_ADMIN) is None:
            accounts.create_user(session, DEMO_ADMIN, password, "admin", actor=who)
        else:
            accounts.set_password(session, DEMO_ADMIN, password, actor=who)
            accounts.set_active(session, DEMO_ADMIN, True, actor=who)
            accounts.set_role(session, DEMO_ADMIN, "admin", actor=who)
    return loaded.register.organisation.name, number, applied_now, password


def demo(
    port: int = typer.Option(8000, "--port", help="Port to serve on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    no_serve: bool = typer.Option(
        False, "--no-serve", help="Set up the demo company and exit without serving."
    ),
) -> None:
    """Create the demo company (SQLite in DATAVERN_DATA_DIR), apply its register, connect a
    synthetic customer database to it and serve it."""
    try:
        org, number, applied_now, password = prepare_demo()
    except DatavernError as exc:
        fail(exc)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    use_base_url(f"http://{shown_host}:{port}")
    settings = get_settings()
    base = settings.base_url.rstrip("/")
    state = "applied now" if applied_now else "already applied"
    where = settings.effective_database_url.split("://", 1)[0]
    console.print(f"\n[bold]Datavern demo[/]: {org}", highlight=False)
    console.print(f"register version {number} ({state}); database: {where}", highlight=False)
    console.print("")
    console.print(f"  Privacy notice (bokmål):  {base}/personvern", highlight=False)
    console.print(f"  Privacy notice (English): {base}/privacy", highlight=False)
    console.print(f"  Admin console:            {base}/admin", highlight=False)
    console.print(f"  API reference:            {base}/docs", highlight=False)
    console.print("")
    console.print(
        f"  Customer database:        {settings.data_dir / demo_source.SOURCE_FILE}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    console.print(
        f"  (synthetic people; file a request as {demo_source.demo_customers()[0][1]})",
        highlight=False,
        markup=False,
    )
    console.print("")
    console.print(f"  Username: {DEMO_ADMIN}", highlight=False, markup=False)
    console.print(f"  Password: {password}", highlight=False, markup=False)
    console.print(
        "  (a new password on every `datavern demo`; it is shown only here)\n", highlight=False
    )
    if not no_serve:
        _run(host, port)
