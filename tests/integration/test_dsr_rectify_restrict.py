"""Rectification (art. 16) and restriction (art. 18) on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

import dsr_fixtures
from datavern.core.audit import AuditEntry
from datavern.core.db import session_scope
from datavern.core.errors import InvalidInput
from datavern.dsr import service
from dsr_fixtures import KARI, OLA, Shop, others_snapshot

dsr_shop = dsr_fixtures.dsr_shop
sqlite_shop = dsr_fixtures.sqlite_shop
dsr_pg_url = dsr_fixtures.dsr_pg_url
dsr_mariadb_url = dsr_fixtures.dsr_mariadb_url


def request(kind: str, identities: list[str], **kwargs: Any) -> service.RequestView:
    with session_scope() as session:
        _version, register = service.applied_register(session)
        parsed = service.parse_request_identities(register, identities)
        created = service.create_request(session, kind, parsed, actor="test", **kwargs)
        request_id = created.id
    service.run_request(request_id, actor="test")
    with session_scope() as session:
        return service.get_request(session, request_id)


def column(shop: Shop, sql: str) -> set[Any]:
    return {r["v"] for r in shop.read(sql)}


def may(identities: list[str], purpose: str) -> service.Decision:
    with session_scope() as session:
        _version, register = service.applied_register(session)
        parsed = service.parse_request_identities(register, identities)
        return service.may_process(session, parsed, purpose)


def test_rectify_an_email_everywhere_it_is_held(dsr_shop: Shop) -> None:
    others = others_snapshot(dsr_shop)
    view = request("rectification", [f"email={OLA}"], rectify=["email=Ola.Ny@Example.NO"])
    assert view.status == "done", view.error
    new = "ola.ny@example.no"  # normalised like the identity
    assert dsr_shop.read("SELECT email FROM customers WHERE id = 1") == [{"email": new}]
    assert dsr_shop.read("SELECT email FROM newsletter WHERE id = 1") == [{"email": new}]
    assert column(dsr_shop, "SELECT buyer_email AS v FROM invoices WHERE id < 102") == {new}
    ola_logs = "SELECT customer_email AS v FROM access_log WHERE ip IN ('10.0.0.1', '10.0.0.2')"
    assert column(dsr_shop, ola_logs) == {new}
    assert others_snapshot(dsr_shop) == others
    # Before and after are in the audit log (art. 16, accountability).
    with session_scope() as session:
        entries = [
            e.details
            for e in session.execute(
                select(AuditEntry).where(AuditEntry.action == "dsr.rectify")
            ).scalars()
        ]
    customers = next(e for e in entries if e["collection"] == "shop.customers")
    assert customers["changes"] == [{"key": 1, "field": "email", "before": OLA, "after": new}]
    # The subject is now found under the new address only.
    assert request("access", [f"email={new}"]).summary["rows_found"] > 0


def test_rectify_a_name_keeps_held_invoice_fields(dsr_shop: Shop) -> None:
    view = request("rectification", [f"email={OLA}"], rectify=["user.name=Ola Fjellheim"])
    assert view.status == "done", view.error
    assert dsr_shop.read("SELECT name FROM customers WHERE id = 1") == [{"name": "Ola Fjellheim"}]
    assert dsr_shop.read("SELECT name FROM newsletter WHERE id = 1") == [{"name": "Ola Fjellheim"}]
    # The 2024 invoice is an accounting voucher under hold: it is not rewritten
    # (bokføringsloven); the 2019 one, past its hold, is corrected.
    names = dsr_shop.read("SELECT id, buyer_name FROM invoices WHERE id IN (100, 101) ORDER BY id")
    assert names == [
        {"id": 100, "buyer_name": "Ola Nordmann"},
        {"id": 101, "buyer_name": "Ola Fjellheim"},
    ]
    assert view.summary["collections"]["shop.invoices"]["kept_under_hold"] == 1
    assert dsr_shop.read("SELECT name FROM customers WHERE id = 2") == [{"name": "Kari Nordmann"}]


def test_rectify_one_field_by_its_address(sqlite_shop: Shop) -> None:
    view = request(
        "rectification", [f"email={OLA}"], rectify=["shop.orders.shipped_to=Nygata 5, Oslo"]
    )
    assert view.status == "done", view.error
    assert column(sqlite_shop, "SELECT shipped_to AS v FROM orders WHERE customer_id = 1") == {
        "Nygata 5, Oslo"
    }
    assert sqlite_shop.read("SELECT shipped_to FROM orders WHERE id = 12") == [
        {"shipped_to": "Torget 3, Tromsø"}
    ]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("nickname=Ola", "matches no personal field"),
        ("phone=12", "not a valid phone number"),
        ("fnr=17058012328", "check digit"),
        ("email", "write --set FIELD=VALUE"),
    ],
)
def test_rectify_refuses_what_it_cannot_do(sqlite_shop: Shop, item: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        request("rectification", [f"email={OLA}"], rectify=[item])
    assert "17058012328" not in str(caught.value)


def test_a_value_that_does_not_fit_the_column_fails_before_any_change(
    sqlite_shop: Shop,
) -> None:
    long = "x" * 300
    view = request("rectification", [f"email={OLA}"], rectify=[f"shipped_to={long}"])
    assert view.status == "failed"
    assert view.error is not None and "shop.orders.shipped_to" in view.error
    assert long not in view.error


def test_restriction_blocks_every_purpose_but_storage_until_lifted(dsr_shop: Shop) -> None:
    assert may([f"email={OLA}"], "marketing").allowed
    view = request("restriction", [f"email={OLA}"])
    assert view.status == "done", view.error
    rows = dsr_shop.read("SELECT id, restricted FROM customers")
    flags = {r["id"]: bool(r["restricted"]) for r in rows}
    assert flags == {1: True, 2: False, 3: False}
    decision = may([f"email={OLA}"], "marketing.advertising")
    assert not decision.allowed and "art. 18" in decision.reason
    assert may([f"email={OLA}"], "functional.storage").allowed
    assert may([f"email={OLA}"], "storage").restricted
    assert may([f"email={KARI}"], "marketing").allowed
    # Another identity of a restricted person is not the restricted identity: the
    # restriction is recorded for the identities the request gave.
    lifted = request("lift_restriction", [f"email={OLA}"])
    assert lifted.status == "done", lifted.error
    assert may([f"email={OLA}"], "marketing").allowed
    assert dsr_shop.read("SELECT restricted FROM customers WHERE id = 1")[0]["restricted"] in (
        False,
        0,
    )


def test_restriction_is_recorded_without_the_identity(sqlite_shop: Shop) -> None:
    request("restriction", [f"email={OLA}", "phone=+4791234567"])
    from datavern.dsr.models import Restriction

    with session_scope() as session:
        rows = list(session.execute(select(Restriction)).scalars())
        assert sorted(r.identity_type for r in rows) == ["email", "phone"]
        assert all(OLA not in r.identity_hash and len(r.identity_hash) == 64 for r in rows)
        log = str([e.details for e in session.execute(select(AuditEntry)).scalars()])
    assert OLA not in log and "91234567" not in log
    # Either identity alone is enough to be refused.
    assert not may(["phone=91234567"], "marketing").allowed


def test_a_restriction_without_flag_columns_still_restricts(sqlite_shop: Shop) -> None:
    sqlite_shop.apply(
        dsr_fixtures.DSR_DEFAULT.replace(
            "  restriction_flags:\n    shop.customers: restricted\n", ""
        )
    )
    view = request("restriction", [f"email={OLA}"])
    assert view.status == "done", view.error
    assert view.steps == []
    assert not may([f"email={OLA}"], "marketing").allowed
