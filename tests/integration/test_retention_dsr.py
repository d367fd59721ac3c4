"""Legal holds win over erasure requests too: the DSR engine leaves held rows alone and
erases them when the hold ends (SQLite, PostgreSQL, MariaDB)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

import retention_fixtures
from datavern.core.audit import AuditEntry
from datavern.core.db import session_scope
from datavern.dsr import service as dsr
from datavern.dsr.models import DeferredErasure
from datavern.retention import service
from retention_fixtures import KARI, NOW, OLA, Shop

shop = retention_fixtures.shop
sqlite_shop = retention_fixtures.sqlite_shop
retention_pg_url = retention_fixtures.retention_pg_url
retention_mariadb_url = retention_fixtures.retention_mariadb_url

OLA_LOG = [3, 13, 23, 33]
OLA_INVOICES = [1, 3, 5, 7, 9, 11]


def erase(email: str) -> str:
    with session_scope() as session:
        _version, register = dsr.applied_register(session)
        identities = dsr.parse_request_identities(register, [f"email={email}"])
        request = dsr.create_request(session, "erasure", identities, actor="test")
        request_id = request.id
    assert dsr.run_request(request_id, actor="test") == "done"
    return request_id


def add_hold(**kwargs: Any) -> service.HoldView:
    with session_scope() as session:
        return service.add_hold(session, actor="test", **kwargs)


def ola(shop: Shop) -> dict[str, Any]:
    return {
        "customer": shop.read("SELECT email, name FROM customers WHERE id = 1"),
        "log": shop.read(
            "SELECT id, email, ip FROM access_log WHERE id IN (3, 13, 23, 33) ORDER BY id"
        ),
        "invoices": shop.read(
            "SELECT id, buyer_name FROM invoices WHERE customer_id = 1 ORDER BY id"
        ),
    }


def test_a_subject_hold_keeps_the_person_from_erasure_until_it_ends(shop: Shop) -> None:
    before = ola(shop)
    kari = shop.read("SELECT * FROM customers WHERE id = 2")
    hold = add_hold(
        scope="subject",
        identity=f"email={OLA}",
        reason="Kunden har varslet søksmål; alt om ham skal bevares",
        kind="litigation",
    )
    request_id = erase(OLA)
    assert ola(shop) == before
    assert shop.read("SELECT * FROM customers WHERE id = 2") == kari
    with session_scope() as session:
        waiting = list(session.execute(select(DeferredErasure)).scalars())
        entries = list(
            session.execute(select(AuditEntry).where(AuditEntry.action == "dsr.hold")).scalars()
        )
    assert waiting and {w.hold for w in waiting} == {f"legal-hold-{hold.id}"}
    assert all(w.due_on == date(2026, 6, 2) for w in waiting)
    assert entries and all(
        f"legal hold {hold.id} (litigation)" in e.details["why"] for e in entries
    )
    # The hold is still there tomorrow: nothing is erased, the rows wait another day.
    shop.fixed_clock.set(NOW + timedelta(days=1))
    result = dsr.run_due(actor="test")
    assert result.done == 0 and not result.errors
    assert ola(shop) == before
    with session_scope() as session:
        service.end_hold(session, hold.id, actor="test", reason="Saken er forlikt")
    shop.fixed_clock.set(NOW + timedelta(days=2))
    result = dsr.run_due(actor="test")
    assert result.failed == 0, result.errors
    after = ola(shop)
    assert after["customer"] == [{"email": None, "name": None}] or after["customer"] == []
    assert all(r["email"] is None and r["ip"] is None for r in after["log"])
    assert all(r["buyer_name"] is None for r in after["invoices"])
    with session_scope() as session:
        assert dsr.get_request(session, request_id).status == "done"


def test_a_record_set_hold_keeps_only_its_rows(shop: Shop) -> None:
    add_hold(
        scope="records",
        collection="shop.access_log",
        conditions=["ip=10.0.0.13"],
        reason="Innbruddsforsøk fra denne adressen etterforskes",
        kind="investigation",
    )
    erase(OLA)
    log = {r["id"]: r for r in ola(shop)["log"]}
    assert log[13]["email"] == OLA and log[13]["ip"] == "10.0.0.13"
    assert all(log[i]["email"] is None for i in (3, 23, 33))
    assert ola(shop)["customer"] in ([{"email": None, "name": None}], [])


def test_a_collection_hold_keeps_the_collection_and_nobody_else_is_touched(
    sqlite_shop: Shop,
) -> None:
    add_hold(
        scope="collection",
        collection="shop.invoices",
        reason="Skatteetaten har pålagt oss å oppbevare fakturaene",
        kind="tax_authority_order",
        authority="Skatteetaten",
    )
    invoices = sqlite_shop.read("SELECT * FROM invoices ORDER BY id")
    erase(KARI)
    assert sqlite_shop.read("SELECT * FROM invoices ORDER BY id") == invoices
    assert sqlite_shop.read("SELECT email FROM customers WHERE id = 2") in ([{"email": None}], [])
    assert sqlite_shop.read("SELECT email FROM customers WHERE id = 1") == [{"email": OLA}]
