"""A request interrupted at any point resumes to the same end state and does nothing twice."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

import dsr_fixtures
from datavern.core.audit import AuditEntry
from datavern.core.config import reset_settings
from datavern.core.db import dispose_engines, session_scope
from datavern.dsr import execute, service
from datavern.dsr.masking import is_marked
from datavern.dsr.models import DeferredErasure, DsrStep
from dsr_fixtures import DATASET, OLA, Shop

dsr_shop = dsr_fixtures.dsr_shop
sqlite_shop = dsr_fixtures.sqlite_shop
dsr_pg_url = dsr_fixtures.dsr_pg_url
dsr_mariadb_url = dsr_fixtures.dsr_mariadb_url

TABLES = (
    "customers",
    "orders",
    "order_lines",
    "invoices",
    "access_log",
    "newsletter",
    "tickets",
    "ticket_messages",
)
ORDER = {"order_lines": "order_id, line_no", "access_log": "ip, at"}


def state(shop: Shop, tables: tuple[str, ...] = TABLES) -> dict[str, list[dict[str, Any]]]:
    """Every table, with values Datavern masked at random shown as <masked>."""
    return {
        t: [
            {k: "<masked>" if is_marked(v) else v for k, v in row.items()}
            for row in shop.read(f"SELECT * FROM {t} ORDER BY {ORDER.get(t, '1')}")
        ]
        for t in tables
    }


def create(kind: str = "erasure") -> str:
    with session_scope() as session:
        _version, register = service.applied_register(session)
        parsed = service.parse_request_identities(register, [f"email={OLA}"])
        return service.create_request(session, kind, parsed, actor="test").id


def steps(request_id: str) -> list[DsrStep]:
    with session_scope() as session:
        return list(
            session.execute(
                select(DsrStep).where(DsrStep.request_id == request_id).order_by(DsrStep.number)
            ).scalars()
        )


def crash_at(number: int, phase: str) -> execute.FaultHook:
    def hook(when: str, step: execute.StepInfo) -> None:
        if step.number == number and when == phase and step.attempt == 1:
            raise execute.SimulatedCrash(f"crash at step {number} ({phase})")

    return hook


@pytest.fixture
def fault() -> Any:
    def install(hook: execute.FaultHook | None) -> None:
        execute.set_fault_hook(hook)

    yield install
    execute.set_fault_hook(None)


def test_a_crash_after_a_write_resumes_without_doing_anything_twice(
    dsr_shop: Shop, fault: Any
) -> None:
    request_id = create()
    invoices = next(
        s.number for s in steps(request_id) if s.action == "mask" and s.key == "shop.invoices"
    )
    fault(crash_at(invoices, "written"))
    with pytest.raises(execute.SimulatedCrash):
        service.run_request(request_id, actor="test")
    with session_scope() as session:
        assert service.get_request(session, request_id).status == "running"
    fault(None)
    assert service.run_request(request_id, actor="test") == "done"
    attempts = {s.number: s.attempts for s in steps(request_id)}
    assert attempts[invoices] == 2
    assert all(n == 1 for number, n in attempts.items() if number != invoices)
    with session_scope() as session:
        held = session.execute(
            select(func.count())
            .select_from(DeferredErasure)
            .where(DeferredErasure.request_id == request_id)
        ).scalar_one()
        masks = session.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.action == "dsr.mask",
                AuditEntry.target == f"dsr_request:{request_id}",
                AuditEntry.details["collection"].as_string() == "shop.invoices",
            )
        ).scalar_one()
    assert held == 1  # the hold is scheduled once
    assert masks == 1  # and the erasure recorded once
    assert dsr_shop.read("SELECT buyer_name, buyer_email FROM invoices WHERE id = 100") == [
        {"buyer_name": "Ola Nordmann", "buyer_email": None}
    ]


def test_after_the_first_write_a_resumed_erasure_never_reads_the_subject_again(
    sqlite_shop: Shop, fault: Any
) -> None:
    # The rows to erase were found by the e-mail, which the erasure nulls: a
    # resumed erasure must use the stored keys, not search again.
    request_id = create()
    first_write = next(s.number for s in steps(request_id) if s.action != "retrieve")
    fault(crash_at(first_write, "written"))
    with pytest.raises(execute.SimulatedCrash):
        service.run_request(request_id, actor="test")
    fault(None)
    assert service.run_request(request_id, actor="test") == "done"
    attempts = {s.number: s.attempts for s in steps(request_id)}
    assert all(attempts[n] == 1 for n in range(1, first_write))  # no retrieve re-ran
    assert attempts[first_write] == 2


def test_a_crash_during_the_reads_reads_again_and_the_package_is_complete(
    sqlite_shop: Shop, fault: Any, tmp_path: Path
) -> None:
    # Reads are cheap to repeat and change nothing: they are committed together
    # with the first step that writes, and a crash before that reads them again.
    import json
    import zipfile

    def package(request_id: str) -> Any:
        with session_scope() as session:
            path = service.get_request(session, request_id).summary["export"]["path"]
        data = json.loads(zipfile.ZipFile(path).read("data.json"))
        return data["datasets"]

    reference = create("access")
    assert service.run_request(reference, actor="test") == "done"
    request_id = create("access")
    fault(crash_at(4, "start"))
    with pytest.raises(execute.SimulatedCrash):
        service.run_request(request_id, actor="test")
    assert {s.state for s in steps(request_id)} == {"pending"}
    fault(None)
    assert service.run_request(request_id, actor="test") == "done"
    assert package(request_id) == package(reference)


def test_killed_at_any_step_the_request_ends_as_if_never_interrupted(
    sqlite_shop: Shop, fault: Any
) -> None:
    # The reference: one uninterrupted erasure.
    assert service.run_request(create(), actor="test") == "done"
    expected = state(sqlite_shop)
    count = len(steps(create()))
    for number in range(1, count + 1):
        for phase in ("start", "written"):
            dsr_fixtures.reset(sqlite_shop.url)
            request_id = create()
            fault(crash_at(number, phase))
            with pytest.raises(execute.SimulatedCrash):
                service.run_request(request_id, actor="test")
            fault(None)
            assert service.run_request(request_id, actor="test") == "done", (number, phase)
            assert state(sqlite_shop) == expected, (number, phase)


def test_an_unreachable_database_fails_the_request_and_resume_finishes_it(
    sqlite_shop: Shop, tmp_path: Path
) -> None:
    moved = tmp_path / "elsewhere.db"
    shop_file = Path(sqlite_shop.url.removeprefix("sqlite:///"))
    sqlite_shop.engine.dispose()
    from datavern.connectors import service as connections

    connections.close_connectors()
    shutil.move(shop_file, moved)
    request_id = create()
    assert service.run_request(request_id, actor="test") == "failed"
    with session_scope() as session:
        view = service.get_request(session, request_id)
    assert view.error is not None and "no database file" in view.error
    assert "Traceback" not in view.error
    shutil.move(moved, shop_file)
    assert service.run_request(request_id, actor="test") == "done"


def test_a_locked_table_fails_the_request_and_resume_finishes_it(dsr_shop: Shop) -> None:
    if dsr_shop.backend != "postgres":
        pytest.skip("one real lock is enough: PostgreSQL's row lock")
    request_id = create()
    locker = create_engine(dsr_shop.url)
    with locker.connect() as conn:
        transaction = conn.begin()
        conn.execute(text("SELECT * FROM orders WHERE id = 10 FOR UPDATE"))
        status = service.run_request(request_id, actor="test")
        transaction.rollback()
    locker.dispose()
    with session_scope() as session:
        view = service.get_request(session, request_id)
    assert status == "failed"
    assert view.error is not None and "locked by another transaction" in view.error
    assert "orders" in view.error
    assert service.run_request(request_id, actor="test") == "done"
    assert dsr_shop.read("SELECT shipped_to FROM orders WHERE id = 10") == [{"shipped_to": None}]


# --------------------------------------------------------------------------- #
# A real process killed with SIGKILL in the middle of a large erasure
# --------------------------------------------------------------------------- #

EVENTS = 150_000

EVENTS_DATASET = (
    DATASET
    + """      - name: events
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: customer_id
            fides_meta:
              references: [{dataset: shop, field: customers.id, direction: from}]
          - name: ip
            data_categories: [user.device.ip_address]
          - name: agent
            data_categories: [user.device]
"""
)
EVENTS_DSR = (
    dsr_fixtures.DSR_DEFAULT
    + """  masking:
    fields:
      shop.events.ip: hmac
      shop.customers.name: {strategy: fixed, value: slettet}
"""
)


def make_events(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL "
            "REFERENCES customers(id), ip VARCHAR(80), agent VARCHAR(100))"
        )
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?)",
            (
                (i, 1 if i % 10 else 2, f"10.{i % 250}.{i % 200}.{i % 100}", f"agent {i}")
                for i in range(1, EVENTS + 1)
            ),
        )


def home(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAVERN_DATA_DIR", str(path))
    dispose_engines()
    reset_settings()


def datavern(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "datavern.dsr.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )


def test_a_process_killed_mid_erasure_resumes_to_the_same_end_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, datavern_home: Path
) -> None:
    monkeypatch.setenv("DATAVERN_MASKING_KEY", "the same key for both runs")
    shop_file, twin_file = tmp_path / "shop.db", tmp_path / "twin.db"
    dsr_fixtures.reset(f"sqlite:///{shop_file}")
    make_events(shop_file)
    shutil.copy(shop_file, twin_file)
    from cryptography.fernet import Fernet

    monkeypatch.setenv("DATAVERN_CONNECTION_KEY", Fernet.generate_key().decode())

    def setup(url: str) -> Shop:
        dsr_fixtures.prepare_home(url, monkeypatch, keep_keys=True)
        fixed = dsr_fixtures.clock.FixedClock(dsr_fixtures.NOW)
        shop = Shop(url, "sqlite", tmp_path, create_engine(url), fixed)
        shop.apply(EVENTS_DSR, dataset=EVENTS_DATASET)
        return shop

    # The twin: the same erasure, never interrupted, in a Datavern home of its own.
    home(tmp_path / "twin-home", monkeypatch)
    twin = setup(f"sqlite:///{twin_file}")
    done = datavern("erase", "--identity", f"email={OLA}")
    _out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err.decode()

    # The same erasure, killed with SIGKILL while it masks the 135,000 event rows.
    home(datavern_home, monkeypatch)
    shop = setup(f"sqlite:///{shop_file}")
    victim = datavern("erase", "--identity", f"email={OLA}")
    database = datavern_home / "datavern.db"
    deadline = time.monotonic() + 300
    killed = False
    while time.monotonic() < deadline and victim.poll() is None:
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
                row = conn.execute(
                    "SELECT state FROM dsr_steps WHERE collection = 'events' AND action = 'mask'"
                ).fetchone()
        except sqlite3.OperationalError:
            row = None
        if row and row[0] == "running":
            time.sleep(0.3)
            victim.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.01)
    victim.communicate(timeout=60)
    assert killed, "the erasure finished before it could be killed; make EVENTS larger"
    with sqlite3.connect(database) as conn:
        request_id, status = conn.execute("SELECT id, status FROM dsr_requests").fetchone()
    assert status == "running"  # not done, not failed: it was killed

    resumed = datavern("resume", request_id)
    _out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err.decode()
    tables = (*TABLES, "events")
    assert state(shop, tables) == state(twin, tables)
    masked = shop.read("SELECT count(*) AS n FROM events WHERE customer_id = 1 AND ip LIKE 'dv:%'")
    assert masked[0]["n"] == EVENTS - EVENTS // 10
    shop.engine.dispose()
    twin.engine.dispose()


def test_datavern_on_postgresql_runs_and_resumes_requests(
    database_url: str, sqlite_shop: Shop, fault: Any
) -> None:
    # Datavern's own tables on SQLite and on PostgreSQL (the production database).
    request_id = create()
    fault(crash_at(3, "written"))
    with pytest.raises(execute.SimulatedCrash):
        service.run_request(request_id, actor="test")
    fault(None)
    assert service.run_request(request_id, actor="test") == "done"
    assert sqlite_shop.read("SELECT email FROM customers WHERE id = 1") == [{"email": None}]
    with session_scope() as session:
        from datavern.core.audit import verify

        assert verify(session).ok


def test_steps_run_one_by_one_as_a_distributed_runner_would(sqlite_shop: Shop) -> None:
    from datavern.jobs.runner import get_runner

    request_id = create()
    all_steps = steps(request_id)
    last = all_steps[-1]
    # A step whose dependencies are not done is refused, naming what it waits for.
    with pytest.raises(execute.StepNotReady, match=f"step {last.number} waits for step"):
        get_runner().enqueue("dsr.run_step", step_id=last.id)
    for step in all_steps:
        status = get_runner().enqueue("dsr.run_step", step_id=step.id)
    assert status == "done"
    assert {s.state for s in steps(request_id)} == {"done"}
    assert sqlite_shop.read("SELECT email FROM customers WHERE id = 1") == [{"email": None}]
