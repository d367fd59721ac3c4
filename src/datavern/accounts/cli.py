"""`datavern user ...`: admin-console users and roles.

Passwords never appear on the command line (they would land in shell history and
the process list): `--password-stdin` reads one line from standard input;
without it a random password is generated and printed once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from datavern.accounts import rules, service
from datavern.accounts.tokens import SCOPES
from datavern.cli.common import actor, console, ensure_database, fail
from datavern.core.db import session_scope
from datavern.core.errors import DatavernError, InvalidInput

app = typer.Typer(help="Admin console users and roles.", no_args_is_help=True)

ROLE_HELP = f"One of: {', '.join(rules.ROLES)}."


@contextmanager
def _reported() -> Iterator[None]:
    """Report a user error with its exit code (2 for invalid input), never a traceback."""
    try:
        yield
    except DatavernError as exc:
        fail(exc)


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise InvalidInput("no password on standard input (give it as one line)")
    return password


@app.command("add")
def add(
    username: str = typer.Argument(..., help="Login name (lower-case letters, digits, . _ - @)."),
    role: str = typer.Option(..., "--role", "-r", help=ROLE_HELP),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (one line)."
    ),
    email: str | None = typer.Option(None, "--email", help="Contact e-mail (optional)."),
) -> None:
    """Add a user. Without --password-stdin a random password is generated and shown once."""
    with _reported():
        password = _read_password() if password_stdin else service.generate_password()
    ensure_database()
    with _reported(), session_scope() as session:
        user = service.create_user(session, username, password, role, actor=actor(), email=email)
        name, user_role = user.username, user.role
    console.print(f"user {name} added with role {user_role}", highlight=False)
    if not password_stdin:
        console.print(f"password (shown once): {password}", highlight=False, markup=False)


@app.command("list")
def list_users(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List users with role and status."""
    ensure_database()
    with _reported(), session_scope() as session:
        rows = [
            {
                "username": u.username,
                "role": u.role,
                "active": u.active,
                "created_at": u.created_at.isoformat(),
            }
            for u in service.list_users(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print("no users yet; add one with: datavern user add NAME --role admin")
        return
    for row in rows:
        status = "active" if row["active"] else "disabled"
        console.print(f"{row['username']:<32} {row['role']:<16} {status}", highlight=False)


@app.command("set-role")
def set_role(
    username: str = typer.Argument(..., help="The user."),
    role: str = typer.Argument(..., help=ROLE_HELP),
) -> None:
    """Change a user's role (the last active admin cannot be demoted)."""
    ensure_database()
    with _reported(), session_scope() as session:
        user = service.set_role(session, username, role, actor=actor())
        name, new_role = user.username, user.role
    console.print(f"user {name} now has role {new_role}", highlight=False)


@app.command("disable")
def disable(username: str = typer.Argument(..., help="The user.")) -> None:
    """Disable a user and end their sessions (the account and its audit trail stay)."""
    ensure_database()
    with _reported(), session_scope() as session:
        user = service.set_active(session, username, False, actor=actor())
        name = user.username
    console.print(f"user {name} disabled; their sessions are ended", highlight=False)


@app.command("enable")
def enable(username: str = typer.Argument(..., help="The user.")) -> None:
    """Enable a disabled user again."""
    ensure_database()
    with _reported(), session_scope() as session:
        user = service.set_active(session, username, True, actor=actor())
        name = user.username
    console.print(f"user {name} enabled", highlight=False)


@app.command("set-password")
def set_password(
    username: str = typer.Argument(..., help="The user."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from standard input (one line)."
    ),
) -> None:
    """Set a new password and end the user's sessions. Without --password-stdin one is generated."""
    with _reported():
        password = _read_password() if password_stdin else service.generate_password()
    ensure_database()
    with _reported(), session_scope() as session:
        user = service.set_password(session, username, password, actor=actor())
        name = user.username
    console.print(f"password of {name} changed; their sessions are ended", highlight=False)
    if not password_stdin:
        console.print(f"password (shown once): {password}", highlight=False, markup=False)


# --------------------------------------------------------------------------- #
# `datavern token ...`: API tokens for systems (wired as its own group)
# --------------------------------------------------------------------------- #

token_app = typer.Typer(help="API tokens for systems (hashed, with scopes).", no_args_is_help=True)


@token_app.command("create")
def token_create(
    name: str = typer.Argument(..., help="A name for the system using it, e.g. kundeportal."),
    scope: list[str] = typer.Option(
        ...,
        "--scope",
        "-s",
        help="Repeatable: " + ", ".join(SCOPES) + ".",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the token as JSON."),
) -> None:
    """Make an API token. It is shown once; Datavern keeps only its hash."""
    from datavern.accounts import tokens

    ensure_database()
    with _reported(), session_scope() as session:
        token = tokens.create_token(session, name, scope, actor=actor())
        chosen = tokens.parse_scopes(scope)
    if as_json:
        typer.echo(json.dumps({"name": name.strip().lower(), "scopes": chosen, "token": token}))
        return
    console.print(f"token {name.strip().lower()} made with {', '.join(chosen)}", highlight=False)
    console.print(f"token (shown once): {token}", highlight=False, markup=False, soft_wrap=True)


@token_app.command("list")
def token_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The tokens, their scopes and when each was last used (never the tokens themselves)."""
    from datavern.accounts import tokens

    ensure_database()
    with session_scope() as session:
        rows: list[dict[str, Any]] = [
            {
                "name": t.name,
                "scopes": t.scopes,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked": t.revoked_at is not None,
            }
            for t in tokens.list_tokens(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        console.print("no API tokens")
    for row in rows:
        state = "revoked" if row["revoked"] else f"last used {row['last_used_at'] or 'never'}"
        console.print(f"{row['name']}: {', '.join(row['scopes'])} ({state})", highlight=False)


@token_app.command("revoke")
def token_revoke(name: str = typer.Argument(..., help="The token's name.")) -> None:
    """Revoke a token at once."""
    from datavern.accounts import tokens

    ensure_database()
    with _reported(), session_scope() as session:
        tokens.revoke_token(session, name, actor=actor())
    console.print(f"token {name} revoked", highlight=False)
