"""Retention sweeps on SQLite, PostgreSQL and MariaDB: what is due goes, holds win, a run
interrupted anywhere ends as if it never stopped, and its report is signed."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import retention_fixtures
from datavern.core import audit, clock
from datavern.core.db import session_scope
from datavern.retention import service
from datavern.retention.models import SweepRun
from retention_fixtures import INVOICE_DATES, NOW, OLA, Shop

shop = retention_fixtures.shop
sqlite_shop = retention_fixtures.sqlite_shop
retention_pg_url = retention_fixtures.retention_pg_url
retention_mariadb_url = retention_fixtures.retention_mariadb_url

LOG_DUE = list(range(19, 41))  # access_log rows of 2 March 2026 and older
LOG_KEPT = list(range(1, 19))
INVOICES_DUE = [i for i, day in INVOICE_DATES if day <= date(2020, 12, 31)]
SESSIONS_DUE = list(range(4, 11))


def run(**kwargs: Any) -> service.RunView:
    return service.run(actor="test", **kwargs)


def plan() -> dict[str, service.PlanLine]:
    with session_scope() as session:
        return {line.rule: line for line in service.plan(session)}


def add_hold(**kwargs: Any) -> service.HoldView:
    with session_scope() as session:
        return service.add_hold(session, actor="test", **kwargs)


def rule_of(view: service.RunView, key: str) -> dict[str, Any]:
    return next(r for r in view.rules if r["rule"] == key)


def expected_end_state(shop: Shop) -> None:
    assert shop.ids("access_log") == LOG_KEPT
    assert shop.ids("invoices") == [i for i, _ in INVOICE_DATES if i not in INVOICES_DUE]
    sessions = shop.read("SELECT id, user_email, ip FROM sessions ORDER BY id")
    assert [s["id"] for s in sessions if s["user_email"] is None and s["ip"] is None] == (
        SESSIONS_DUE
    )
    assert shop.ids("sessions") == list(range(1, 11))
    assert shop.ids("page_views") == [1, 2, 3, 4]
    assert shop.snapshot()["page_view_counts"] == [
        {"path": "/", "n": 5},
        {"path": "/kontakt", "n": 3},
    ]


def test_a_sweep_deletes_anonymises_and_aggregates_what_is_due(shop: Shop) -> None:
    view = run(batch_size=3)
    assert view.state == "done"
    expected_end_state(shop)
    assert rule_of(view, "access-log")["deleted"] == len(LOG_DUE)
    assert rule_of(view, "access-log")["due_at_start"] == len(LOG_DUE)
    if shop.backend != "postgres":
        assert rule_of(view, "access-log")["batches"] == 8  # 22 rows, 3 per batch
    # (PostgreSQL sweeps slices of the table's blocks: this small table is one slice.)
    assert rule_of(view, "invoices")["deleted"] == len(INVOICES_DUE)
    assert rule_of(view, "invoices")["cutoff"] == "2020-12-31"
    assert rule_of(view, "sessions")["anonymised"] == len(SESSIONS_DUE)
    assert rule_of(view, "page-views")["aggregated"] == 8
    # Nothing left to do: a second run changes nothing and counts nothing.
    before = shop.snapshot()
    again = run()
    assert shop.snapshot() == before
    assert sum(r["deleted"] + r["anonymised"] + r["aggregated"] for r in again.rules) == 0
    with session_scope() as session:
        assert audit.verify(session).ok
        checked, valid = service.verify_run(session, view.id)
    assert valid and checked.report is not None
    assert checked.report["totals"]["deleted"] == len(LOG_DUE) + len(INVOICES_DUE)


def test_the_plan_counts_and_changes_nothing(shop: Shop) -> None:
    before = shop.snapshot()
    lines = plan()
    assert shop.snapshot() == before
    assert lines["access-log"].due == len(LOG_DUE)
    assert lines["access-log"].held == 0
    assert str(lines["access-log"].oldest)[:10] == "2025-11-17"
    assert lines["invoices"].due == len(INVOICES_DUE)
    assert lines["sessions"].due == len(SESSIONS_DUE)
    assert lines["page-views"].due == 8
    assert all(not line.problems for line in lines.values())


def test_legal_holds_win_over_retention(shop: Shop) -> None:
    add_hold(
        scope="records",
        collection="shop.invoices",
        conditions=["status=disputed"],
        reason="Tvist om fakturaen",
        kind="litigation",
    )
    add_hold(
        scope="collection",
        collection="shop.sessions",
        reason="Politiet ber oss ta vare på innloggingene",
        kind="authority_order",
        authority="Oslo politidistrikt",
    )
    add_hold(
        scope="subject",
        identity=f"email={OLA}",
        reason="Kunden har varslet søksmål",
        kind="litigation",
    )
    lines = plan()
    # Ola's log lines 23 and 33 are due but his; the walk reaches his invoices 1, 3 and 5
    # through customers.id (3 is also disputed); the whole sessions table is held.
    assert lines["access-log"].held == 2
    assert lines["invoices"].held == 3
    assert lines["sessions"].held == len(SESSIONS_DUE)
    assert lines["page-views"].held == 0
    view = run(batch_size=4)
    assert view.state == "done"
    assert shop.ids("access_log") == [*LOG_KEPT, 23, 33]
    assert shop.ids("invoices") == [1, 3, 5, 6, 7, 8, 9, 10, 11]
    assert shop.read("SELECT count(*) AS n FROM sessions WHERE user_email IS NULL")[0]["n"] == 0
    assert rule_of(view, "access-log")["deleted"] == len(LOG_DUE) - 2
    assert rule_of(view, "access-log")["held"] == 2
    assert rule_of(view, "sessions")["held"] == len(SESSIONS_DUE)
    assert rule_of(view, "sessions")["anonymised"] == 0


def test_an_ended_hold_lets_the_next_sweep_take_the_rows(shop: Shop) -> None:
    hold = add_hold(
        scope="collection",
        collection="shop.access_log",
        reason="Skatteetaten har pålagt oss å oppbevare loggene under bokettersynet",
        kind="tax_authority_order",
        authority="Skatteetaten",
        until=date(2026, 6, 30),
    )
    run()
    assert shop.ids("access_log") == list(range(1, 41))
    # The hold ends by its date: from 1 July in Oslo the rows are due again.
    shop.fixed_clock.set(NOW + timedelta(days=30))
    assert plan()["access-log"].held == 0
    run(fresh=False)
    assert shop.ids("access_log") == [i for i in range(1, 41) if i <= 12]
    # Ending a hold by hand works the same.
    second = add_hold(
        scope="records", collection="shop.invoices", conditions=["amount>=100"], reason="Revisjon"
    )
    with session_scope() as session:
        service.end_hold(session, second.id, actor="test", reason="Revisjonen er ferdig")
        listed = {h.id: h for h in service.list_holds(session)}
    assert not listed[second.id].active and listed[second.id].end_reason == "Revisjonen er ferdig"
    assert not listed[hold.id].active


def test_a_hold_added_during_a_sweep_applies_from_the_next_batch(sqlite_shop: Shop) -> None:
    def hook(point: str, rule: str, batch: int) -> None:
        if rule == "access-log" and point == "written" and batch == 1:
            add_hold(scope="collection", collection="shop.access_log", reason="Etterforskning")

    previous = service.set_fault_hook(hook)
    try:
        view = run(batch_size=5, only=["access-log"])
    finally:
        service.set_fault_hook(previous)
    assert rule_of(view, "access-log")["deleted"] == 5
    assert sqlite_shop.ids("access_log") == [*LOG_KEPT, *range(24, 41)]


@pytest.fixture
def crash() -> Iterator[Any]:
    def install(rule: str, batch: int, point: str) -> None:
        def hook(at: str, current: str, number: int) -> None:
            if (at, current, number) == (point, rule, batch):
                raise service.SimulatedCrash()

        service.set_fault_hook(hook)

    yield install
    service.set_fault_hook(None)


@pytest.mark.parametrize(
    ("rule", "batch", "point"),
    [
        ("access-log", 1, "noted"),
        ("access-log", 4, "written"),
        ("invoices", 2, "written"),
        ("sessions", 1, "written"),
        ("sessions", 3, "noted"),
        ("page-views", 2, "written"),
    ],
)
def test_a_run_stopped_anywhere_ends_as_if_it_never_stopped(
    shop: Shop, crash: Any, rule: str, batch: int, point: str
) -> None:
    if shop.backend == "postgres":
        # PostgreSQL sweeps slices of blocks; these small tables are one slice each (the
        # SIGKILL test in test_retention_cli.py stops a sweep of many slices).
        batch = 1
    crash(rule, batch, point)
    with pytest.raises(service.SimulatedCrash):
        run(batch_size=3)
    crash("none", 0, "none")
    with session_scope() as session:
        stopped = session.execute(select(SweepRun)).scalar_one()
        assert stopped.state == "running"
    view = run(batch_size=3)
    assert view.id == stopped.id and view.resumed == 1 and view.state == "done"
    expected_end_state(shop)
    # Counted once, even for the batch the database committed before Datavern could record it.
    assert rule_of(view, "access-log")["deleted"] == len(LOG_DUE)
    assert rule_of(view, "invoices")["deleted"] == len(INVOICES_DUE)
    assert rule_of(view, "sessions")["anonymised"] == len(SESSIONS_DUE)
    assert rule_of(view, "page-views")["aggregated"] == 8


def test_a_resumed_run_keeps_its_day(sqlite_shop: Shop, crash: Any) -> None:
    crash("access-log", 2, "written")
    with pytest.raises(service.SimulatedCrash):
        run(batch_size=3, only=["access-log"])
    crash("none", 0, "none")
    # Continued two weeks later, the run still sweeps what was due on its own day.
    sqlite_shop.fixed_clock.set(NOW + timedelta(days=14))
    view = run(only=["access-log"])
    assert view.today == clock.now().date() - timedelta(days=14)
    assert sqlite_shop.ids("access_log") == LOG_KEPT


def test_a_rule_whose_table_lacks_the_field_fails_and_changes_nothing(shop: Shop) -> None:
    shop.execute("ALTER TABLE page_views RENAME COLUMN viewed_at TO seen_at")
    before = shop.read("SELECT * FROM page_views ORDER BY id")
    view = run()
    assert view.state == "failed"
    failed = rule_of(view, "page-views")
    assert failed["state"] == "failed" and "viewed_at" in failed["error"]
    assert "nothing was changed" in failed["error"]
    assert shop.read("SELECT * FROM page_views ORDER BY id") == before
    assert shop.read("SELECT count(*) AS n FROM page_view_counts")[0]["n"] == 0
    # The other rules did their work.
    assert shop.ids("access_log") == LOG_KEPT


def test_a_run_refuses_a_register_without_rules(sqlite_shop: Shop) -> None:
    sqlite_shop.apply(rules_yaml="dsr:\n  connections:\n    shop: shopdb\n")
    with pytest.raises(service.InvalidInput, match="no retention_rules"):
        run()


def events_shop(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Iterator[Shop], Shop, int]:
    fixture = retention_fixtures.make_shop(request, "postgres", tmp_path, monkeypatch)
    target = next(fixture)
    due = retention_fixtures.make_events(target.url, EVENTS, NOW)
    target.apply(rules_yaml=retention_fixtures.EVENTS_RULES, dataset=EVENTS_DATASET)
    return fixture, target, due


EVENTS = 4000
EVENTS_DATASET = retention_fixtures.EVENTS_DATASET


@pytest.mark.parametrize("parallel", [1, 2])
def test_a_parallel_sweep_uses_its_connections_and_does_every_row_once(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: int
) -> None:
    fixture, target, due = events_shop(request, tmp_path, monkeypatch)
    threads: set[str] = set()

    def hook(point: str, rule: str, _batch: int) -> None:
        if point == "written" and rule == "events":
            threads.add(threading.current_thread().name)
            time.sleep(0.01)  # long enough for the other connection to take a slice

    previous = service.set_fault_hook(hook)
    try:
        view = run(batch_size=100, parallel=parallel)
        events = rule_of(view, "events")
        assert view.state == "done"
        assert events["deleted"] == due and events["due_at_start"] == due
        assert events["batches"] > 10  # many slices, not one
        assert len(threads) == parallel
        assert [r["id"] for r in target.read("SELECT id FROM events ORDER BY id")] == list(
            range(3, EVENTS + 1, 3)
        )
    finally:
        service.set_fault_hook(previous)
        fixture.close()


@pytest.mark.parametrize(("point", "batch"), [("noted", 1), ("noted", 6), ("written", 7)])
def test_a_parallel_sweep_stopped_anywhere_counts_every_row_once(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    crash: Any,
    point: str,
    batch: int,
) -> None:
    fixture, target, due = events_shop(request, tmp_path, monkeypatch)
    try:
        crash("events", batch, point)
        with pytest.raises(service.SimulatedCrash):
            run(batch_size=100, parallel=2)
        crash("none", 0, "none")
        left = len(target.read("SELECT id FROM events"))
        assert left > EVENTS - due  # stopped before the end
        view = run(batch_size=100, parallel=2)
        events = rule_of(view, "events")
        assert view.resumed == 1 and view.state == "done"
        # Every due row deleted once and counted once, whichever connection stopped where.
        assert events["deleted"] == due and events["due_at_start"] == due
        assert [r["id"] for r in target.read("SELECT id FROM events ORDER BY id")] == list(
            range(3, EVENTS + 1, 3)
        )
    finally:
        fixture.close()


def test_the_number_of_connections_is_checked(
    sqlite_shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(service.InvalidInput, match="parallel connections is 1 to 8"):
        run(parallel=0)
    monkeypatch.setenv("DATAVERN_RETENTION_PARALLEL", "many")
    with pytest.raises(service.InvalidInput, match="DATAVERN_RETENTION_PARALLEL"):
        run()
    monkeypatch.setenv("DATAVERN_RETENTION_PARALLEL", "3")
    assert service.parallel_degree(None) == 3
    monkeypatch.delenv("DATAVERN_RETENTION_PARALLEL")
    assert service.parallel_degree(None) == min(2, os.cpu_count() or 1)
    with session_scope() as session:
        assert session.execute(select(SweepRun)).first() is None  # nothing started
