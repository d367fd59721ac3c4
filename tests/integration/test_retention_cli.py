"""`datavern retention ...` and `datavern scheduler` as a user runs them: exit codes, messages,
no tracebacks; bad input changes nothing; a sweep killed with SIGKILL continues to the same
end state on PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import retention_fixtures
from datavern.cli.main import app as main_app
from datavern.core.db import dispose_engines, session_scope
from datavern.jobs.scheduler import scheduler
from datavern.retention.cli import app
from datavern.retention.models import LegalHold
from retention_fixtures import DATASET, ORGANISATION, RULES, Shop

shop = retention_fixtures.shop
sqlite_shop = retention_fixtures.sqlite_shop
retention_pg_url = retention_fixtures.retention_pg_url
retention_mariadb_url = retention_fixtures.retention_mariadb_url
runner = CliRunner()
COLLECTION = ["--scope", "collection", "--collection", "shop.invoices"]


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tables are printed by rich, which wraps cells to the terminal's width.
    monkeypatch.setenv("COLUMNS", "220")


def retention(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    output = result.output
    assert "Traceback" not in output, output
    return result.exit_code, output


def holds_count() -> int:
    with session_scope() as session:
        return session.query(LegalHold).count()


def test_rules_lists_the_register_rules_and_the_builtin_ones(sqlite_shop: Shop) -> None:
    code, out = retention("rules")
    assert code == 0, out
    assert "access-log" in out and "Built-in legal rules" in out
    code, out = retention("rules", "--json")
    data = json.loads(out)
    assert [r["key"] for r in data["rules"]] == ["access-log", "invoices", "sessions", "page-views"]
    invoices = data["rules"][1]
    assert invoices["period"] == "P5Y" and invoices["counts_from"] == "end_of_financial_year"
    assert "bokføringsloven § 13" in invoices["legal_basis"]
    assert {b["rule"] for b in data["builtin"]} == {
        "bokforingsloven-13-1-1-4",
        "bokforingsloven-13-1-5-8",
    }


def test_plan_and_run_say_the_same_when_the_register_has_no_rules(sqlite_shop: Shop) -> None:
    sqlite_shop.apply(rules_yaml="")
    before = sqlite_shop.snapshot()
    for command in (["plan"], ["plan", "--json"], ["run"]):
        code, out = retention(*command)
        assert code == 2, out
        assert "the register has no retention_rules" in out and "docs/retention.md" in out
    assert sqlite_shop.snapshot() == before


def test_plan_run_and_a_signed_report(sqlite_shop: Shop) -> None:
    before = sqlite_shop.snapshot()
    code, out = retention("plan", "--json")
    assert code == 0, out
    assert {line["rule"]: line["due"] for line in json.loads(out)} == {
        "access-log": 22,
        "invoices": 5,
        "sessions": 7,
        "page-views": 8,
    }
    code, out = retention("plan")
    assert code == 0 and "dry run" in out and "2026-03-02" in out
    assert sqlite_shop.snapshot() == before

    code, out = retention("run", "--batch-size", "4", "--json")
    assert code == 0, out
    run = json.loads(out)
    assert run["state"] == "done"
    assert run["report"]["totals"]["deleted"] == 27
    run_id = run["id"]

    code, out = retention("reports")
    assert code == 0 and run_id[:12] in out
    code, out = retention("report", run_id[:8], "--verify")
    assert code == 0, out
    assert "signature valid" in out and f"sweep {run_id}: done" in out

    # Someone edits the stored report: the signature no longer matches.
    sqlite_shop_db = Path(os.environ["DATAVERN_DATA_DIR"]) / "datavern.db"
    with sqlite3.connect(sqlite_shop_db) as conn:
        (raw,) = conn.execute("SELECT report FROM retention_runs").fetchone()
        report = json.loads(raw)
        report["rules"][0]["deleted"] = 0
        conn.execute("UPDATE retention_runs SET report = ?", (json.dumps(report),))
    code, out = retention("report", run_id, "--verify")
    assert code == 1 and "signature does not match" in out
    code, out = retention("report", "nosuchrun")
    assert code == 2 and "no retention run" in out


def test_holds_add_list_end(sqlite_shop: Shop) -> None:
    code, out = retention(
        "holds",
        "add",
        "--scope",
        "records",
        "--collection",
        "shop.invoices",
        "--where",
        "status=disputed",
        "--reason",
        "Kunden bestrider fakturaen",
        "--kind",
        "litigation",
        "--until",
        "2027-12-31",
    )
    assert code == 0, out
    assert "legal hold 1 added (records, litigation)" in out
    code, out = retention(
        "holds",
        "add",
        "--scope",
        "subject",
        "--identity",
        "email=ola@example.no",
        "--reason",
        "Søksmål varslet",
        "--json",
    )
    assert code == 0, out
    hold = json.loads(out)
    assert hold["identity_type"] == "email" and "ola" not in out
    code, out = retention("holds", "list")
    assert code == 0 and "status = disputed" in out and "person (email)" in out
    code, out = retention("holds", "end", "1", "--reason", "Saken er avgjort")
    assert code == 0 and "ended" in out
    code, out = retention("holds", "list", "--json")
    assert [h["id"] for h in json.loads(out)] == [2]
    code, out = retention("holds", "list", "--all", "--json")
    assert {h["id"]: h["active"] for h in json.loads(out)} == {1: False, 2: True}
    code, out = retention("holds", "end", "1")
    assert code == 2 and "already ended" in out
    code, out = retention("holds", "end", "99")
    assert code == 2 and "no legal hold with id 99" in out


@pytest.mark.parametrize(
    ("args", "messages"),
    [
        (
            ["--scope", "collection", "--collection", "shop.invoices"],
            ["a hold needs a reason"],
        ),
        (
            ["--scope", "collection", "--collection", "shop.invoices", "--reason", "   "],
            ["a hold needs a reason"],
        ),
        (
            ["--scope", "records", "--collection", "shop.nope", "--reason", "x", "--where", "a=1"],
            ["no collection 'shop.nope'"],
        ),
        (
            ["--scope", "records", "--collection", "shop.invoices", "--reason", "x"],
            ["at least one condition"],
        ),
        (
            [
                "--scope",
                "records",
                "--collection",
                "shop.invoices",
                "--reason",
                "x",
                "--where",
                "colour=red",
                "--where",
                "status ~ x",
            ],
            ["has no field 'colour'", "condition 2"],
        ),
        (["--scope", "subject", "--reason", "x"], ["needs the person's identity"]),
        (
            ["--scope", "subject", "--reason", "x", "--identity", "email=not-an-address"],
            ["not a valid e-mail address"],
        ),
        (["--scope", "everything", "--reason", "x"], ["scope is one of"]),
        (
            [
                "--scope",
                "collection",
                "--collection",
                "shop.invoices",
                "--reason",
                "x",
                "--kind",
                "x",
            ],
            ["kind is one of"],
        ),
        (
            [
                "--scope",
                "collection",
                "--collection",
                "shop.invoices",
                "--reason",
                "x",
                "--until",
                "2020-01-01",
            ],
            ["in the past"],
        ),
        (
            [
                "--scope",
                "collection",
                "--collection",
                "shop.invoices",
                "--reason",
                "x",
                "--until",
                "31.12.2027",
            ],
            ["YYYY-MM-DD"],
        ),
    ],
)
def test_a_bad_hold_exits_2_names_every_problem_and_records_nothing(
    sqlite_shop: Shop, args: list[str], messages: list[str]
) -> None:
    code, out = retention("holds", "add", *args)
    assert code == 2, out
    for message in messages:
        assert message in out
    assert holds_count() == 0


def test_bad_register_rules_are_refused_with_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "reg"
    folder.mkdir()
    rules = RULES.replace("period: P90D", "period: 90 days").replace(
        "trigger: {field: started_at}", "trigger: {field: started}"
    )
    (folder / "register.yaml").write_text(textwrap.dedent(ORGANISATION) + DATASET + rules)
    result = runner.invoke(main_app, ["check", str(folder)])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    period = next(line for line in lines if "not an ISO 8601 period" in line)
    field = next(line for line in lines if "has no field 'started'" in line)
    text = (folder / "register.yaml").read_text().splitlines()
    for line, needle in ((period, "90 days"), (field, "started}")):
        where = line.split(": ", 1)[0]
        number = int(where.split(":")[1])
        assert needle in text[number - 1]


def test_a_rule_that_no_longer_fits_the_table_deletes_nothing(sqlite_shop: Shop) -> None:
    sqlite_shop.execute("ALTER TABLE access_log DROP COLUMN created_at")
    before = sqlite_shop.read("SELECT * FROM access_log ORDER BY id")
    code, out = retention("run", "--rule", "access-log")
    assert code == 1
    assert "has no field 'created_at'" in out and "nothing was changed" in out
    assert sqlite_shop.read("SELECT * FROM access_log ORDER BY id") == before
    code, out = retention("plan", "--rule", "access-log")
    assert code == 1 and "has no field 'created_at'" in out


def test_unknown_rules_and_batch_sizes_exit_2(sqlite_shop: Shop) -> None:
    code, out = retention("run", "--rule", "nope")
    assert code == 2 and "no retention rule 'nope'" in out and "access-log" in out
    code, out = retention("run", "--batch-size", "0")
    assert code == 2 and "batch size" in out
    code, out = retention("plan", "--rule", "nope")
    assert code == 2


def test_scheduler_once_sweeps_and_erases_what_is_due(sqlite_shop: Shop) -> None:
    standalone = typer.Typer()
    standalone.command()(scheduler)
    result = runner.invoke(
        standalone, ["--once", "--task", "retention.sweep", "--task", "dsr.run_due", "--json"]
    )
    assert result.exit_code == 0, result.output
    outcomes = {o["task"]: o for o in map(json.loads, result.output.splitlines())}
    assert outcomes["retention.sweep"]["ok"]
    assert outcomes["retention.sweep"]["result"]["totals"]["deleted"] == 27
    assert outcomes["dsr.run_due"]["ok"]
    assert sqlite_shop.ids("access_log") == list(range(1, 19))
    result = runner.invoke(standalone, ["--once", "--task", "nope"])
    assert result.exit_code == 2 and "no periodic task 'nope'" in result.output


# --------------------------------------------------------------------------- #
# A real process killed with SIGKILL in the middle of a sweep
# --------------------------------------------------------------------------- #

EVENTS = 60_000
EVENTS_DATASET = retention_fixtures.EVENTS_DATASET
EVENTS_RULES = retention_fixtures.EVENTS_RULES


def make_events(url: str) -> int:
    return retention_fixtures.make_events(url, EVENTS)


def sweep_process(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "datavern.retention.cli", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )


@pytest.mark.parametrize(
    ("backend", "parallel"), [("postgres", "2"), ("postgres", "1"), ("mariadb", "2")]
)
def test_a_sweep_killed_mid_run_continues_to_the_same_end_state(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    parallel: str,
) -> None:
    # PostgreSQL sweeps slices of blocks on `parallel` connections; MariaDB batches by key
    # on one (the option changes nothing there).
    fixture = retention_fixtures.make_shop(request, backend, tmp_path, monkeypatch)
    target = next(fixture)
    try:
        due = make_events(target.url)
        target.apply(rules_yaml=EVENTS_RULES, dataset=EVENTS_DATASET)
        dispose_engines()
        database = Path(os.environ["DATAVERN_DATA_DIR"]) / "datavern.db"
        victim = sweep_process("--batch-size", "200", "--parallel", parallel)
        deadline = time.monotonic() + 300
        killed = False
        while time.monotonic() < deadline and victim.poll() is None:
            try:
                with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
                    row = conn.execute(
                        "SELECT batches FROM retention_run_rules WHERE rule = 'events'"
                    ).fetchone()
            except sqlite3.OperationalError:
                row = None
            if row and row[0] >= 5:
                victim.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.01)
        victim.communicate(timeout=60)
        assert killed, "the sweep finished before it could be killed; make EVENTS larger"
        with sqlite3.connect(database) as conn:
            state, deleted = conn.execute(
                "SELECT r.state, x.deleted FROM retention_runs r "
                "JOIN retention_run_rules x ON x.run_id = r.id"
            ).fetchone()
        assert state == "running" and 0 < deleted < due

        resumed = sweep_process("--batch-size", "200", "--parallel", parallel, "--json")
        out, err = resumed.communicate(timeout=600)
        assert resumed.returncode == 0, err.decode()
        run: dict[str, Any] = json.loads(out)
        assert run["resumed"] == 1 and run["state"] == "done"
        events = next(r for r in run["rules"] if r["rule"] == "events")
        # Every due row deleted exactly once, and counted once; every other row kept.
        assert events["deleted"] == due and events["due_at_start"] == due
        remaining = target.read("SELECT id FROM events ORDER BY id")
        assert [r["id"] for r in remaining] == list(range(3, EVENTS + 1, 3))
    finally:
        fixture.close()
