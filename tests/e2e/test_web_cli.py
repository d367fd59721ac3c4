"""`datavern demo` and `datavern serve`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from datavern.accounts import service
from datavern.cli.main import app
from datavern.core.db import session_scope
from datavern.register.service import list_versions

runner = CliRunner()


def _password(output: str) -> str:
    match = re.search(r"Password: (\S+)", output)
    assert match, output
    return match.group(1)


def test_demo_sets_up_the_company_and_prints_urls_and_credentials() -> None:
    result = runner.invoke(app, ["demo", "--no-serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    for url in ("/personvern", "/privacy", "/admin"):
        assert f"http://127.0.0.1:8123{url}" in result.output
    assert "Username: admin" in result.output
    password = _password(result.output)
    with session_scope() as session:
        user = service.authenticate(session, "admin", password)
        assert user is not None and user.role == "admin"
        versions = list_versions(session)
    assert len(versions) == 1
    assert versions[0].content["organisation"]["name"] in result.output


def test_demo_again_applies_nothing_new_and_resets_the_password() -> None:
    first = runner.invoke(app, ["demo", "--no-serve"])
    second = runner.invoke(app, ["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    assert "already applied" in second.output
    old, new = _password(first.output), _password(second.output)
    assert old != new
    with session_scope() as session:
        assert len(list_versions(session)) == 1
        assert service.authenticate(session, "admin", new) is not None
        assert service.authenticate(session, "admin", old) is None


def test_demo_connects_a_synthetic_customer_database_requests_can_run_against(
    datavern_home: Path,
) -> None:
    import sqlite3

    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    source = datavern_home / "demo-kundedatabase.sqlite"
    assert source.is_file() and "demo-kundedatabase.sqlite" in result.output
    assert oct((datavern_home / "demo-connection.key").stat().st_mode & 0o777) == "0o600"

    access = runner.invoke(
        app,
        [
            "dsr",
            "access",
            "--identity",
            "email=ola.nordmann@example.com",
            "--output",
            str(datavern_home / "ola.zip"),
        ],
    )
    assert access.exit_code == 0, access.output
    assert "from 5 collection(s)" in access.output

    erase = runner.invoke(app, ["dsr", "erase", "--identity", "email=per.hansen@example.com"])
    assert erase.exit_code == 0, erase.output
    assert "(erasure): done" in erase.output
    db = sqlite3.connect(source)
    try:
        gone = db.execute("SELECT count(*) FROM customers WHERE email = 'per.hansen@example.com'")
        assert gone.fetchone() == (0,)
        # Invoices are held by bokføringsloven § 13: the billing name stays, the link goes.
        kept = db.execute("SELECT count(*) FROM invoices WHERE billing_name = 'Per Hansen'")
        assert kept.fetchone()[0] > 0
        linked = db.execute(
            "SELECT count(*) FROM invoices WHERE billing_name = 'Per Hansen' "
            "AND customer_id IS NOT NULL"
        )
        assert linked.fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM customers").fetchone()[0] > 1
    finally:
        db.close()

    again = runner.invoke(app, ["demo", "--no-serve"])  # keeps the changed database
    assert again.exit_code == 0, again.output
    assert (
        runner.invoke(
            app,
            [
                "dsr",
                "access",
                "--identity",
                "email=ola.nordmann@example.com",
                "--output",
                str(datavern_home / "again.zip"),
            ],
        ).exit_code
        == 0
    )


def test_demo_links_follow_the_port_unless_the_base_url_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datavern.core.config import get_settings

    result = runner.invoke(app, ["demo", "--no-serve", "--port", "8124"])
    assert result.exit_code == 0, result.output
    assert get_settings().base_url == "http://127.0.0.1:8124"
    monkeypatch.setenv("DATAVERN_BASE_URL", "https://personvern.example")
    result = runner.invoke(app, ["demo", "--no-serve", "--port", "8125"])
    assert "https://personvern.example/personvern" in result.output
    assert "8125" not in result.output


def test_demo_without_the_example_register_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        "datavern.web.cli.demo_candidates", lambda: [tmp_path / "examples" / "demo"]
    )
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 1
    assert "demo register was not found" in result.output
    assert "Traceback" not in result.output


def test_serve_migrates_and_answers(datavern_home: Path, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATAVERN_DATA_DIR": str(datavern_home)}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "datavern"), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start:\n{log.read_text()}")
                time.sleep(0.2)
        assert response.json() == {"status": "ok", "database": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/admin/login?x=secret").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    text = log.read_text()
    assert "GET /healthz 200" in text
    # no client address and no query string in the log
    assert "127.0.0.1:" not in text.replace(f"http://127.0.0.1:{port}", "")
    assert "secret" not in text
