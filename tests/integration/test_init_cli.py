"""`datavern init` from the command line: options, prompts on a terminal, exit codes."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from datavern.cli.main import app
from datavern.register.loader import load_register

runner = CliRunner()
ORG_NR = "923609016"
DATAVERN = Path(sys.executable).with_name("datavern")


def test_init_with_options_writes_a_register_that_check_accepts(tmp_path: Path) -> None:
    folder = tmp_path / "register"
    result = runner.invoke(
        app,
        ["init", str(folder), "--name", "Eksempel AS", "--org-nr", ORG_NR, "--email", "a@b.no"],
    )
    assert result.exit_code == 0, result.output
    assert "wrote a register for Eksempel AS" in result.output
    assert load_register(folder).register.organisation.org_nr == ORG_NR
    check = runner.invoke(app, ["check", str(folder)])
    assert check.exit_code == 0, check.output


def test_init_refuses_an_invalid_org_nr_with_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "init",
            str(tmp_path),
            "--name",
            "Eksempel AS",
            "--org-nr",
            "123456789",
            "--email",
            "a@b.no",
        ],
    )
    assert result.exit_code == 2
    assert "'123456789' is not a valid Norwegian organisation number (checksum)" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "register.yaml").exists()


def test_init_refuses_an_existing_register_without_force(tmp_path: Path) -> None:
    args = ["init", str(tmp_path), "--name", "A AS", "--org-nr", ORG_NR, "--email", "a@b.no"]
    assert runner.invoke(app, args).exit_code == 0
    (tmp_path / "register.yaml").write_text("# edited\n" + (tmp_path / "register.yaml").read_text())
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "a register already exists" in again.output
    assert (tmp_path / "register.yaml").read_text().startswith("# edited")
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0
    assert not (tmp_path / "register.yaml").read_text().startswith("# edited")


def test_missing_values_without_a_terminal_are_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path), "--name", "A AS"], input="")
    assert result.exit_code == 2
    assert "missing --org-nr, --email" in result.output
    with_yes = runner.invoke(app, ["init", str(tmp_path), "--yes", "--email", "a@b.no"])
    assert with_yes.exit_code == 2 and "missing --name, --org-nr" in with_yes.output
    assert not (tmp_path / "register.yaml").exists()


def _talk(args: list[str], answers: list[tuple[str, str]], cwd: Path) -> tuple[int, str]:
    """Run datavern on a pseudo-terminal, answering each prompt as it appears."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become datavern
        os.chdir(cwd)
        os.execv(str(DATAVERN), [str(DATAVERN), *args])
    output = b""
    pending = list(answers)
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            os.kill(pid, 9)
            raise AssertionError(f"datavern init stopped answering: {output.decode()}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if pending and pending[0][0].encode() in output.rsplit(b"\n", 1)[-1]:
            os.write(fd, pending.pop(0)[1].encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def test_init_prompts_on_a_terminal_and_asks_again_after_a_bad_org_nr(tmp_path: Path) -> None:
    env_ok = DATAVERN.exists()
    assert env_ok, "the datavern command is installed next to the test interpreter"
    code, output = _talk(
        ["init", "reg"],
        [
            ("legal name", "Terminal AS"),
            ("Organisation number", "123456789"),
            ("Organisation number", "923 609 016"),
            ("e-mail", "personvern@terminal.no"),
        ],
        tmp_path,
    )
    assert code == 0, output
    assert "is not a valid Norwegian organisation number (checksum)" in output
    organisation = load_register(tmp_path / "reg").register.organisation
    assert (organisation.name, organisation.org_nr, organisation.email) == (
        "Terminal AS",
        ORG_NR,
        "personvern@terminal.no",
    )


def test_init_runs_as_an_installed_command_without_a_terminal(tmp_path: Path) -> None:
    completed = subprocess.run(
        [str(DATAVERN), "init", "reg", "--org-nr", "999"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert "missing --name, --email" in completed.stderr
    assert "Traceback" not in completed.stderr
