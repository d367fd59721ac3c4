"""`datavern connection ...` as a user runs it (Typer's CliRunner, real SQLite and MariaDB)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datavern.connectors.cli import app
from datavern.connectors.secrets import KEY_ENV

PASSWORD = "Sv4rt-Hemmelig"
runner = CliRunner()


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    result = runner.invoke(app, ["keygen"])
    assert result.exit_code == 0
    value = result.stdout.strip()
    monkeypatch.setenv(KEY_ENV, value)
    return value


@pytest.fixture
def shop_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(80) NOT NULL)")
        conn.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, "
            "customer_id INTEGER NOT NULL REFERENCES customers(id))"
        )
    return path


def _all_output(*results: object) -> str:
    return "\n".join(r.stdout + r.stderr for r in results)  # type: ignore[attr-defined]


def test_keygen_prints_a_usable_key(key: str) -> None:
    assert len(key) == 44


def test_add_without_key_explains_how_to_make_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    result = runner.invoke(app, ["add", "crm", f"postgresql://u:{PASSWORD}@h/db"])
    assert result.exit_code == 2
    assert KEY_ENV in result.stderr and "datavern connection keygen" in result.stderr
    assert PASSWORD not in _all_output(result)
    assert "Traceback" not in _all_output(result)


def test_add_test_list_describe_remove(key: str, shop_file: Path) -> None:
    added = runner.invoke(app, ["add", "shop", f"sqlite:///{shop_file}"])
    assert added.exit_code == 0, added.stderr
    assert "connection shop saved" in added.stdout

    tested = runner.invoke(app, ["test", "shop"])
    assert tested.exit_code == 0 and tested.stdout.startswith("ok: connected to sqlite")

    listed = runner.invoke(app, ["list", "--json"])
    assert listed.exit_code == 0
    [entry] = json.loads(listed.stdout)
    assert entry["name"] == "shop" and entry["backend"] == "sqlite"
    assert entry["last_test_ok"] is True

    described = runner.invoke(app, ["describe", "shop", "--json"])
    assert described.exit_code == 0, described.stderr
    data = json.loads(described.stdout)
    tables = {c["name"]: c for c in data["collections"]}
    assert set(tables) == {"customers", "orders"}
    email = next(c for c in tables["customers"]["columns"] if c["name"] == "email")
    assert email["kind"] == "string" and email["max_length"] == 80 and email["nullable"] is False
    assert tables["orders"]["foreign_keys"] == [
        {
            "columns": ["customer_id"],
            "referred_collection": "customers",
            "referred_columns": ["id"],
            "on_delete": None,
        }
    ]
    rekeyed = runner.invoke(app, ["rekey"])
    assert rekeyed.exit_code == 0 and "1 connection(s)" in rekeyed.stdout
    readable = runner.invoke(app, ["describe", "shop"])
    assert readable.exit_code == 0 and "customers" in readable.stdout

    removed = runner.invoke(app, ["remove", "shop"])
    assert removed.exit_code == 0
    assert json.loads(runner.invoke(app, ["list", "--json"]).stdout) == []
    gone = runner.invoke(app, ["test", "shop"])
    assert gone.exit_code == 2 and "no connection named 'shop'" in gone.stderr


def test_password_never_printed(key: str, mariadb_database: str) -> None:
    url = mariadb_database.replace("root@", f"root:{PASSWORD}@")
    results = [
        runner.invoke(app, ["add", "maria", url]),
        runner.invoke(app, ["list"]),
        runner.invoke(app, ["list", "--json"]),
        runner.invoke(app, ["test", "maria"]),  # refused: root has no password
        runner.invoke(app, ["describe", "maria"]),
    ]
    assert results[0].exit_code == 0
    assert "root:***@127.0.0.1:3306" in results[1].stdout + results[2].stdout
    assert results[3].exit_code == 1 and "127.0.0.1:3306" in results[3].stderr
    assert results[4].exit_code == 1
    output = _all_output(*results)
    assert PASSWORD not in output and "Traceback" not in output


def test_working_mariadb_connection(key: str, mariadb_database: str) -> None:
    assert runner.invoke(app, ["add", "maria", mariadb_database]).exit_code == 0
    tested = runner.invoke(app, ["test", "maria"])
    assert tested.exit_code == 0, tested.stderr
    assert "127.0.0.1:3306" in tested.stdout


def test_url_from_standard_input(key: str, shop_file: Path) -> None:
    result = runner.invoke(app, ["add", "shop", "-"], input=f"sqlite:///{shop_file}\n")
    assert result.exit_code == 0, result.stderr
    assert runner.invoke(app, ["test", "shop"]).exit_code == 0


def test_bad_input_is_reported_with_exit_code_2(key: str, shop_file: Path) -> None:
    bad_name = runner.invoke(app, ["add", "Bad Name", f"sqlite:///{shop_file}"])
    assert bad_name.exit_code == 2
    assert "lowercase letter a-z" in bad_name.stderr
    assert "connection name 'Bad Name' is not valid" in bad_name.stderr

    assert runner.invoke(app, ["add", "shop", f"sqlite:///{shop_file}"]).exit_code == 0
    again = runner.invoke(app, ["add", "shop", f"sqlite:///{shop_file}"])
    assert again.exit_code == 2 and "--replace" in again.stderr
    replaced = runner.invoke(app, ["add", "shop", f"sqlite:///{shop_file}", "--replace"])
    assert replaced.exit_code == 0

    unsupported = runner.invoke(app, ["add", "ora", f"oracle://u:{PASSWORD}@h/db"])
    assert unsupported.exit_code == 2 and "not supported" in unsupported.stderr
    assert PASSWORD not in _all_output(unsupported)


def test_list_is_friendly_when_empty() -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0 and "datavern connection add" in result.stdout
