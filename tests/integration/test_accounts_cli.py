"""`datavern user ...`: add, list, set-role, disable, enable, set-password."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from datavern.accounts import service
from datavern.cli.main import app
from datavern.core.db import session_scope

runner = CliRunner()
PASSWORD = "lang nok passordfrase"


def _invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin)


def test_add_with_password_from_stdin_then_login_works() -> None:
    result = _invoke(
        "user",
        "add",
        "Kari",
        "--role",
        "privacy_officer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "kari" in result.output and PASSWORD not in result.output
    with session_scope() as session:
        user = service.authenticate(session, "kari", PASSWORD)
        assert user is not None and user.role == "privacy_officer"


def test_add_without_stdin_prints_a_generated_password_once() -> None:
    result = _invoke("user", "add", "ola", "--role", "viewer")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "password" in line)
    password = line.rsplit(" ", 1)[-1]
    with session_scope() as session:
        assert service.authenticate(session, "ola", password) is not None


def test_invalid_input_exits_2_without_traceback() -> None:
    result = _invoke("user", "add", "kari", "--role", "root", "--password-stdin", stdin="kort\n")
    assert result.exit_code == 2
    assert "unknown role" in result.output and "12 characters" in result.output
    assert "Traceback" not in result.output


def test_list_set_role_disable_enable() -> None:
    _invoke("user", "add", "kari", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    _invoke("user", "add", "ola", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")
    assert _invoke("user", "set-role", "ola", "agent").exit_code == 0
    assert _invoke("user", "disable", "ola").exit_code == 0
    rows = json.loads(_invoke("user", "list", "--json").output)
    assert {r["username"]: (r["role"], r["active"]) for r in rows} == {
        "kari": ("admin", True),
        "ola": ("agent", False),
    }
    assert _invoke("user", "enable", "ola").exit_code == 0
    with session_scope() as session:
        assert service.authenticate(session, "ola", PASSWORD) is not None


def test_last_admin_is_kept() -> None:
    _invoke("user", "add", "kari", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    result = _invoke("user", "disable", "kari")
    assert result.exit_code == 2 and "last active admin" in result.output


def test_unknown_user_exits_2() -> None:
    result = _invoke("user", "set-role", "nobody", "viewer")
    assert result.exit_code == 2 and "no such user" in result.output


def test_set_password_from_stdin() -> None:
    _invoke("user", "add", "kari", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    result = _invoke(
        "user", "set-password", "kari", "--password-stdin", stdin="en ny og lang frase\n"
    )
    assert result.exit_code == 0, result.output
    with session_scope() as session:
        assert service.authenticate(session, "kari", "en ny og lang frase") is not None
        assert service.authenticate(session, "kari", PASSWORD) is None
