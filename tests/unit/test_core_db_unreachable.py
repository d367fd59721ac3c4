"""A Datavern database that cannot be opened is a one-line error, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from datavern.core.db import DatabaseUnreachable, migrate
from datavern.core.errors import DatavernError

# Port 1 on the loopback address: nothing listens there, so connecting is refused
# at once, without a server on this machine.
REFUSED = "postgresql+psycopg://walker:s3cretpw@127.0.0.1:1/datavern"


def test_migrate_names_the_database_and_the_reason_without_the_password() -> None:
    with pytest.raises(DatabaseUnreachable) as caught:
        migrate(REFUSED)
    message = str(caught.value)
    assert isinstance(caught.value, DatavernError)
    assert caught.value.exit_code == 1
    assert "postgresql database 'datavern' at 127.0.0.1:1" in message
    assert "refused" in message.lower()
    assert "s3cretpw" not in message
    assert "walker" not in message


def test_a_command_reports_it_in_one_line_and_exits_1(tmp_path: Path) -> None:
    env = {**os.environ, "DATAVERN_DATABASE_URL": REFUSED, "DATAVERN_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from datavern.cli.main import entrypoint; entrypoint()",
            "register",
            "versions",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot open Datavern's database")
    assert "Traceback" not in done.stderr
    assert "s3cretpw" not in done.stderr + done.stdout
